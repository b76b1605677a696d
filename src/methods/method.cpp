// The method interface's shared parts and the factory.
#include "relnet/methods/method.h"

#include <torch/cuda.h>

#include <stdexcept>

#include "relnet/methods/deepcluster.h"
#include "relnet/methods/infomax.h"
#include "relnet/methods/relational.h"
#include "relnet/methods/rotation.h"
#include "relnet/methods/simclr.h"
#include "relnet/methods/supervised.h"

namespace relnet {

StepClock::StepClock(bool timed, bool cuda)
    : timed_(timed), cuda_(cuda), last_(std::chrono::steady_clock::now()) {}

void StepClock::lap(double* slot) {
  if (!timed_ || !slot) return;
  if (cuda_) torch::cuda::synchronize();
  const auto now = std::chrono::steady_clock::now();
  *slot += std::chrono::duration<double>(now - last_).count();
  last_ = now;
}

std::unique_ptr<torch::optim::Optimizer> Method::make_optimizer(std::vector<torch::Tensor> params,
                                                                double lr) const {
  return std::make_unique<torch::optim::Adam>(std::move(params), torch::optim::AdamOptions(lr));
}

std::vector<torch::Tensor> Method::encode(const MethodBatch& batch) {
  return {context_.backbone->forward(batch.views)};  // (V*B, D)
}

std::unique_ptr<Method> make_method(const MethodContext& context) {
  const std::string& name = context.config->method.name;
  if (name == "relational") return std::make_unique<RelationalMethod>(context);
  if (name == "simclr") return std::make_unique<SimCLRMethod>(context);
  if (name == "deepcluster") return std::make_unique<DeepClusterMethod>(context);
  if (name == "infomax") return std::make_unique<InfoMaxMethod>(context);
  if (name == "rotation") return std::make_unique<RotationMethod>(context);
  if (name == "supervised") return std::make_unique<SupervisedMethod>(context);
  std::string list;
  for (const auto& n : known_methods()) list += (list.empty() ? "" : ", ") + n;
  throw std::invalid_argument("method.name must be one of " + list + ", got '" + name + "'");
}

double effective_lr(const Config& config, const Method& method) {
  return config.train.lr > 0 ? config.train.lr : method.default_lr();
}

int64_t crop_padding(const Config& config, int64_t side) {
  return config.method.crop_padding >= 0 ? config.method.crop_padding : default_crop_padding(side);
}

torch::Tensor batch_accuracy(const torch::Tensor& logits, const torch::Tensor& targets) {
  torch::NoGradGuard no_grad;
  return logits.argmax(1).eq(targets).to(torch::kFloat64).mean().view(1);
}

}  // namespace relnet
