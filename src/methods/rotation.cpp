// RotationNet: predict which of four quarter turns an image underwent.
#include "relnet/methods/rotation.h"

#include <stdexcept>

namespace relnet {

torch::Tensor four_rotations(const torch::Tensor& x) {
  if (x.dim() != 4 || x.size(2) != x.size(3)) {
    throw std::invalid_argument("four_rotations: images must be (B, C, S, S), got " +
                                c10::str(x.sizes()));
  }
  return torch::cat({x, x.rot90(1, {2, 3}), x.rot90(2, {2, 3}), x.rot90(3, {2, 3})}, 0);
}

RotationMethod::RotationMethod(const MethodContext& context) : Method(context) {
  classifier_ = torch::nn::Linear(context.backbone->feature_size(), 4);
  classifier_->to(context.device);
}

ViewRecipe RotationMethod::view_recipe() const {
  return {ViewKind::kCropFlip, crop_padding(config(), context().data->side())};
}

std::vector<std::pair<std::string, std::shared_ptr<torch::nn::Module>>> RotationMethod::modules()
    const {
  return {{"rotation_classifier", classifier_.ptr()}};
}

std::vector<MetricInfo> RotationMethod::metrics() const { return {{"accuracy", "acc"}}; }

std::vector<torch::Tensor> RotationMethod::encode(const MethodBatch& batch) {
  return {backbone()->forward(four_rotations(batch.views))};  // (4B, D)
}

MethodOutput RotationMethod::loss(const std::vector<torch::Tensor>& encodings,
                                  const MethodBatch& batch, StepTimes* times, StepClock& clock) {
  const torch::Tensor& features = encodings.at(0);  // (4B, D)
  const int64_t B = features.size(0) / 4;
  const torch::Tensor targets =  // 0 x B, 1 x B, 2 x B, 3 x B
      torch::arange(4, torch::TensorOptions().dtype(torch::kInt64).device(features.device()))
          .repeat_interleave(B);
  torch::Tensor logits = classifier_->forward(features);  // (4B, 4)
  if (logits.scalar_type() != torch::kFloat32) logits = logits.to(torch::kFloat32);
  return {torch::nn::functional::cross_entropy(logits, targets),
          batch_accuracy(logits.detach(), targets)};
}

}  // namespace relnet
