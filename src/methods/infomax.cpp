// Deep InfoMax: local and prior discriminators.
#include "relnet/methods/infomax.h"

#include <stdexcept>

#include "relnet/util/rng.h"

namespace relnet {

namespace F = torch::nn::functional;

LocalDiscriminatorImpl::LocalDiscriminatorImpl(int64_t feature_size, int64_t map_channels)
    : map_channels_(map_channels) {
  auto conv1x1 = [](int64_t in, int64_t out) {
    return torch::nn::Conv2d(torch::nn::Conv2dOptions(in, out, 1));
  };
  c0_ = register_module("c0", conv1x1(feature_size + map_channels, 256));
  c1_ = register_module("c1", conv1x1(256, 256));
  c2_ = register_module("c2", conv1x1(256, 1));
}

std::pair<torch::Tensor, torch::Tensor> LocalDiscriminatorImpl::forward(const torch::Tensor& M,
                                                                        const torch::Tensor& y) {
  // Every map is kept channels-last, where LibTorch runs 1x1 convolutions
  // (forward and backward) as oneDNN matrix products on all intra-op threads.
  const int64_t B = M.size(0), C = M.size(1);
  const torch::Tensor w0 = c0_->weight;  // (256, C + D, 1, 1), M's channels first
  const torch::Tensor a =                // (B, 256, H, W): the M part, once per position
      torch::conv2d(M.contiguous(torch::MemoryFormat::ChannelsLast), w0.narrow(1, 0, C));
  const torch::Tensor g =  // (B, 256): the y part and the bias, once per image
      torch::addmm(c0_->bias, y, w0.narrow(1, C, w0.size(1) - C).flatten(1).t());
  auto score = [&](const torch::Tensor& map_part) {  // (B, 256, H, W) -> (B, H*W)
    torch::Tensor h = torch::relu(map_part + g.view({B, 256, 1, 1}));
    h = torch::relu(c1_->forward(h.contiguous(torch::MemoryFormat::ChannelsLast)));
    return c2_->forward(h).reshape({B, -1});
  };
  // M'[b] = M[b + 1 mod B]: the M part of the negatives is `a` rolled.
  const torch::Tensor rolled = torch::cat({a.narrow(0, 1, B - 1), a.narrow(0, 0, 1)}, 0);
  return {score(a), score(rolled)};
}

PriorDiscriminatorImpl::PriorDiscriminatorImpl(int64_t feature_size)
    : l0_(register_module("l0", torch::nn::Linear(feature_size, 512))),
      l1_(register_module("l1", torch::nn::Linear(512, 128))),
      l2_(register_module("l2", torch::nn::Linear(128, 1))) {}

torch::Tensor PriorDiscriminatorImpl::forward(const torch::Tensor& y) {
  return l2_(torch::relu(l1_(torch::relu(l0_(y))))).squeeze(1);  // (N)
}

InfoMaxLossImpl::InfoMaxLossImpl(int64_t feature_size, int64_t map_channels) {
  local_d = register_module("local_d", LocalDiscriminator(feature_size, map_channels));
  prior_d = register_module("prior_d", PriorDiscriminator(feature_size));
}

InfoMaxTerms infomax_loss(InfoMaxLoss& modules, const torch::Tensor& y, const torch::Tensor& M,
                          const torch::Tensor& u, double beta, double gamma) {
  if (y.dim() != 2 || M.dim() != 4 || y.size(0) != M.size(0) || y.size(0) < 2 ||
      u.sizes() != y.sizes()) {
    throw std::invalid_argument(
        "infomax: need y (B, D), M (B, C, H, W) and u (B, D) with B >= 2, got " +
        c10::str(y.sizes()) + ", " + c10::str(M.sizes()) + ", " + c10::str(u.sizes()));
  }
  const auto [positive, negative] = modules->local_d->forward(M, y);  // (B, HW) each
  InfoMaxTerms t;
  // Em - Ej of the reference: Ej = -softplus(-T(M, y)), Em = softplus(T(M', y)).
  t.local = F::softplus(negative).mean() + F::softplus(-positive).mean();
  // log D = log sigmoid(logit), log(1 - D) = log sigmoid(-logit).
  t.prior = -(F::logsigmoid(modules->prior_d->forward(u)).mean() +
              F::logsigmoid(-modules->prior_d->forward(y)).mean());
  t.total = beta * t.local + gamma * t.prior;
  return t;
}

InfoMaxMethod::InfoMaxMethod(const MethodContext& context) : Method(context) {
  loss_fn_ = InfoMaxLoss(context.backbone->feature_size(), context.backbone->first_map_channels());
  loss_fn_->to(context.device);
}

std::vector<std::pair<std::string, std::shared_ptr<torch::nn::Module>>> InfoMaxMethod::modules()
    const {
  return {{"loss_fn", loss_fn_.ptr()}};
}

std::vector<MetricInfo> InfoMaxMethod::metrics() const {
  return {{"loss_local", "local"}, {"loss_prior", "prior"}};
}

std::vector<torch::Tensor> InfoMaxMethod::encode(const MethodBatch& batch) {
  auto [y, M] = backbone()->forward_with_first_map(batch.views);
  return {y, M};  // (B, D), (B, C, H, W)
}

MethodOutput InfoMaxMethod::loss(const std::vector<torch::Tensor>& encodings,
                                 const MethodBatch& batch, StepTimes* times, StepClock& clock) {
  const torch::Tensor& y = encodings.at(0);
  const torch::Tensor& M = encodings.at(1);
  at::Generator gen = at::detail::createCPUGenerator(
      derive_seed({static_cast<uint64_t>(config().train.seed), static_cast<uint64_t>(batch.epoch),
                   static_cast<uint64_t>(batch.step), 0x1f0ULL}));
  const torch::Tensor u = at::rand(y.sizes(), gen, torch::kFloat32).to(y.device());  // U[0, 1)
  const MethodConfig& m = config().method;
  const InfoMaxTerms t = infomax_loss(loss_fn_, y, M, u, m.infomax_beta, m.infomax_gamma);
  const torch::Tensor metrics =
      torch::stack({t.local.detach(), t.prior.detach()}).to(torch::kFloat64);
  return {t.total, metrics};
}

}  // namespace relnet
