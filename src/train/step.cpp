// The training step of any method, with per-part timing.
#include "relnet/train/step.h"

#include "relnet/util/runtime.h"

namespace relnet {

std::vector<torch::Tensor> module_parameters(const Method& method) {
  std::vector<torch::Tensor> out;
  for (const auto& [key, module] : method.modules()) {
    for (const auto& p : module->parameters()) out.push_back(p);
  }
  return out;
}

std::vector<torch::Tensor> method_parameters(const Backbone& backbone, const Method& method) {
  std::vector<torch::Tensor> out = backbone->parameters();
  for (const auto& p : module_parameters(method)) out.push_back(p);
  return out;
}

std::vector<torch::Tensor> method_buffers(const Backbone& backbone, const Method& method) {
  std::vector<torch::Tensor> out = backbone->buffers();
  for (const auto& [key, module] : method.modules()) {
    for (const auto& b : module->buffers()) out.push_back(b);
  }
  return out;
}

TrainStep::TrainStep(Backbone backbone, Method& method)
    : backbone_(std::move(backbone)),
      method_(method),
      params_(method_parameters(backbone_, method)) {}

StepOutput TrainStep::forward_backward(const MethodBatch& batch, StepTimes* times) {
  const torch::Device device = batch.views.device();
  StepClock clock(times != nullptr, device.is_cuda());
  for (auto& p : params_) p.mutable_grad() = torch::Tensor();
  std::vector<torch::Tensor> encodings;
  {
    AutocastGuard autocast(device, bf16_);
    encodings = method_.encode(batch);  // e.g. {(N, D) features}
  }
  for (auto& e : encodings) {
    if (e.scalar_type() != torch::kFloat32) e = e.to(torch::kFloat32);
  }
  clock.lap(times ? &times->backbone_forward : nullptr);

  // The method works on leaf copies, so its backward pass stops there.
  std::vector<torch::Tensor> leaves;
  for (const auto& e : encodings) leaves.push_back(e.detach().requires_grad_(true));
  MethodOutput out;
  {
    AutocastGuard autocast(device, bf16_);
    out = method_.loss(leaves, batch, times, clock);
  }
  clock.lap(times ? &times->head_forward : nullptr);

  out.loss.backward();  // the modules' weights and d loss / d encodings
  clock.lap(times ? &times->head_backward : nullptr);
  if (head_grads_ready_) head_grads_ready_();  // e.g. start reducing them while the backbone runs
  std::vector<torch::Tensor> outputs, grads;
  for (size_t i = 0; i < leaves.size(); ++i) {
    if (!leaves[i].grad().defined()) continue;
    outputs.push_back(encodings[i]);
    grads.push_back(leaves[i].grad());
  }
  if (!outputs.empty()) torch::autograd::backward(outputs, grads);  // through the backbone
  clock.lap(times ? &times->backbone_backward : nullptr);
  return {out.loss.detach(), out.metrics};
}

}  // namespace relnet
