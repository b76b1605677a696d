// Relation head: Linear(in -> hidden), BatchNorm1d(hidden), LeakyReLU(0.01),
// Linear(hidden -> 1). State-dict keys 0.*, 1.*, 3.* as the reference's
// nn.Sequential; 33,793 parameters for cat over D=64 with hidden 256.
#pragma once

#include <torch/torch.h>

namespace relnet {

class RelationHeadImpl : public torch::nn::Module {
 public:
  RelationHeadImpl(int64_t input_size, int64_t hidden = 256);
  // x: (P, input_size) -> logits (P).
  torch::Tensor forward(const torch::Tensor& x);

 private:
  torch::nn::Linear fc1_{nullptr};
  torch::nn::BatchNorm1d bn_{nullptr};
  torch::nn::LeakyReLU act_{nullptr};
  torch::nn::Linear fc2_{nullptr};
};
TORCH_MODULE(RelationHead);

}  // namespace relnet
