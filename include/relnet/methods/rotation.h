// RotationNet (Gidaris et al., 2018) as the reference runs it: every image
// of a batch four times, turned by 0, 90, 180 and 270 degrees (after one
// crop and flip), and Linear(D, 4) predicts the turn with cross-entropy. Its
// module is that classifier, saved as "rotation_classifier".
#pragma once

#include "relnet/methods/method.h"

namespace relnet {

// x (B, C, S, S) -> (4B, C, S, S): x, then x turned by 1, 2, 3 quarter turns
// (torch.rot90 over the spatial dims), in blocks of B. Throws
// std::invalid_argument unless x is 4-D and square.
torch::Tensor four_rotations(const torch::Tensor& x);

class RotationMethod : public Method {
 public:
  explicit RotationMethod(const MethodContext& context);
  std::string name() const override { return "rotation"; }
  int64_t views_per_image() const override { return 1; }
  int64_t inputs_per_image() const override { return 4; }
  ViewRecipe view_recipe() const override;  // crop with padding, flip
  std::vector<std::pair<std::string, std::shared_ptr<torch::nn::Module>>> modules() const override;
  std::vector<MetricInfo> metrics() const override;  // accuracy of the predicted turn
  // The backbone's features of four_rotations(views): (4B, D).
  std::vector<torch::Tensor> encode(const MethodBatch& batch) override;
  MethodOutput loss(const std::vector<torch::Tensor>& encodings, const MethodBatch& batch,
                    StepTimes* times, StepClock& clock) override;

 private:
  torch::nn::Linear classifier_{nullptr};
};

}  // namespace relnet
