// SimCLR: projection head and contrastive loss.
#include "relnet/methods/simclr.h"

#include <cmath>
#include <stdexcept>

namespace relnet {

MlpHeadImpl::MlpHeadImpl(int64_t input, int64_t hidden, int64_t output)
    : linear1_(register_module("linear1", torch::nn::Linear(input, hidden))),
      bn1_(register_module("bn1", torch::nn::BatchNorm1d(hidden))),
      relu_(register_module("relu", torch::nn::LeakyReLU())),
      linear2_(register_module("linear2", torch::nn::Linear(hidden, output))) {}

torch::Tensor MlpHeadImpl::forward(const torch::Tensor& x) {
  return linear2_(relu_(bn1_(linear1_(x))));
}

namespace {

// Row i's partner, (i + B) mod 2B, as an index tensor on `device`.
torch::Tensor partners(int64_t B, torch::Device device) {
  return torch::arange(2 * B, torch::TensorOptions().dtype(torch::kInt64).device(device))
      .add_(B)
      .remainder_(2 * B);
}

void check_embeddings(const torch::Tensor& z) {
  if (z.dim() != 2 || z.size(0) < 2 || z.size(0) % 2 != 0) {
    throw std::invalid_argument("simclr: embeddings must be (2B, E) with B >= 1, got " +
                                c10::str(z.sizes()));
  }
}

}  // namespace

torch::Tensor simclr_loss(const torch::Tensor& z, double temperature, bool ntxent, double eps) {
  check_embeddings(z);
  const int64_t B = z.size(0) / 2;
  const torch::Tensor n = z.norm(2, 1, /*keepdim=*/true);            // (2B, 1)
  const torch::Tensor s = z.mm(z.t()) / n.mm(n.t()).clamp_min(eps);  // (2B, 2B)
  const torch::Tensor e = torch::exp(s / temperature);
  const torch::Tensor p = partners(B, z.device());
  const torch::Tensor cols = torch::arange(2 * B, p.options());
  const torch::Tensor positive = e.index({p, cols});  // E[p(i), i]
  const torch::Tensor r = positive / (e.sum(0) - std::exp(1.0 / temperature));
  return ntxent ? (-torch::log(r)).mean() : -torch::log(r.mean());
}

torch::Tensor simclr_accuracy(const torch::Tensor& z) {
  torch::NoGradGuard no_grad;
  check_embeddings(z);
  const int64_t B = z.size(0) / 2;
  const torch::Tensor u =
      torch::nn::functional::normalize(z, torch::nn::functional::NormalizeFuncOptions().dim(1));
  torch::Tensor s = u.mm(u.t());
  s.fill_diagonal_(-std::numeric_limits<float>::infinity());
  return s.argmax(1).eq(partners(B, z.device())).to(torch::kFloat64).mean().view(1);
}

SimCLRMethod::SimCLRMethod(const MethodContext& context) : Method(context) {
  const Config& c = *context.config;
  head_ = MlpHead(context.backbone->feature_size(), c.model.head_hidden, c.method.projection_dim);
  head_->to(context.device);
}

std::vector<std::pair<std::string, std::shared_ptr<torch::nn::Module>>> SimCLRMethod::modules()
    const {
  return {{"head", head_.ptr()}};
}

std::vector<MetricInfo> SimCLRMethod::metrics() const { return {{"accuracy", "acc"}}; }

MethodOutput SimCLRMethod::loss(const std::vector<torch::Tensor>& encodings,
                                const MethodBatch& batch, StepTimes* times, StepClock& clock) {
  torch::Tensor z = head_->forward(encodings.at(0));  // (2B, D) -> (2B, projection_dim)
  if (z.scalar_type() != torch::kFloat32) z = z.to(torch::kFloat32);
  const MethodConfig& m = config().method;
  return {simclr_loss(z, m.temperature, m.simclr_loss == "ntxent"), simclr_accuracy(z.detach())};
}

}  // namespace relnet
