// Conv4: 4 x [conv3x3 (no bias) -> BN -> ReLU -> AvgPool2], channels 8, 16,
// 32, 64, the last pool global. 24,648 parameters, feature D = 64. While
// training on CPU in float32 (and fused(), the default), the first block,
// convolution included, runs as one kernel (models/fused_conv_block.h), the
// second block likewise (models/fused_second_block.h), and the third and
// fourth blocks' BN -> ReLU -> pool as one kernel each
// (models/fused_batchnorm.h), after LibTorch's convolution. Where the first
// block's kernel does not apply (more than 4 input channels, an input that
// needs a gradient), the first two blocks run that way too (LibTorch's
// convolution, then the fused BN -> ReLU -> pool).
#pragma once

#include <torch/torch.h>

#include "relnet/models/backbone.h"

namespace relnet {

class Conv4Impl : public BackboneImpl {
 public:
  Conv4Impl();
  // x: (N, 3, H, W), H, W >= 8 -> (N, 64).
  torch::Tensor forward(torch::Tensor x) override;
  int64_t feature_size() const override { return 64; }
  std::string name() const override { return "conv4"; }
  // M: (N, 8, H, W), layer1's conv -> bn -> relu.
  std::pair<torch::Tensor, torch::Tensor> forward_with_first_map(torch::Tensor x) override;
  int64_t first_map_channels() const override { return 8; }

 private:
  // State-dict keys: layer1.conv.weight, layer1.bn.{weight,bias,running_mean,
  // running_var,num_batches_tracked}, ... layer4.* (the reference's names).
  torch::nn::Sequential layer1_{nullptr}, layer2_{nullptr}, layer3_{nullptr}, layer4_{nullptr};
};
TORCH_MODULE(Conv4);

// Reference init: conv weights ~ N(0, sqrt(2 / (k*k*out_channels))),
// BatchNorm weight 1 and bias 0. Applied to every submodule of `module`.
void init_reference_weights(torch::nn::Module& module);

}  // namespace relnet
