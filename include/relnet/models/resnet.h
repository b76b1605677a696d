// ResNet backbones: CIFAR ResNet-8/32/56 (3x3 stem, 16/32/64 channels, D = 64)
// and torchvision's ImageNet ResNet-18/34 without fc (7x7 stem, D = 512).
#pragma once

#include <torch/torch.h>

#include <string>
#include <vector>

#include "relnet/models/backbone.h"

namespace relnet {

// The architecture of one named ResNet.
struct ResNetSpec {
  std::string name;  // registry name, e.g. "resnet32"
  // true: conv7x7(stride 2, pad 3) + BN + ReLU + maxpool3x3(stride 2, pad 1)
  // stem (torchvision); false: conv3x3(stride 1, pad 1) + BN + ReLU (CIFAR).
  bool imagenet_stem = false;
  std::vector<int64_t> blocks;    // BasicBlocks per stage, e.g. {5, 5, 5}
  std::vector<int64_t> channels;  // output channels per stage, e.g. {16, 32, 64}
};

// Names of the ResNets below, in the order make_backbone lists them.
const std::vector<std::string>& resnet_names();

// The spec of resnet8, resnet32, resnet56 (CIFAR) or resnet18, resnet34
// (ImageNet). Throws std::invalid_argument for any other name.
ResNetSpec resnet_spec(const std::string& name);

class ResNetImpl : public BackboneImpl {
 public:
  // Builds and initialises (REFERENCE.md init) the network of `spec`. The stem
  // conv has channels[0] outputs; stage i > 0 starts with stride 2.
  explicit ResNetImpl(ResNetSpec spec);
  // x: (N, 3, H, W) -> (N, channels.back()). CIFAR nets: H, W >= 4; ImageNet
  // nets: H, W >= 32 (the spatial size halves 5 times).
  torch::Tensor forward(torch::Tensor x) override;
  int64_t feature_size() const override { return spec_.channels.back(); }
  std::string name() const override { return spec_.name; }
  // M: the stem's conv -> bn1 -> relu, before the ImageNet stem's max-pool.
  std::pair<torch::Tensor, torch::Tensor> forward_with_first_map(torch::Tensor x) override;
  int64_t first_map_channels() const override { return spec_.channels[0]; }

 private:
  ResNetSpec spec_;
  // State-dict keys (torchvision's, in its order): conv1.weight, bn1.*, then
  // layerS.B.{conv1.weight, bn1.*, conv2.weight, bn2.*} and, where the block
  // changes shape, layerS.B.downsample.0.weight + layerS.B.downsample.1.*.
  torch::nn::Conv2d conv1_{nullptr};
  torch::nn::BatchNorm2d bn1_{nullptr};
  std::vector<torch::nn::Sequential> layers_;  // layer1, layer2, ...
};
TORCH_MODULE(ResNet);

}  // namespace relnet
