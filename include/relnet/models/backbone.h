// Backbone interface and factory: a CNN mapping images (N, 3, H, W) to
// features (N, D), D = feature_size().
#pragma once

#include <torch/torch.h>

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "relnet/data/dataset.h"

namespace relnet {

class BackboneImpl : public torch::nn::Module {
 public:
  // x: (N, 3, H, W) float -> (N, feature_size()) float.
  virtual torch::Tensor forward(torch::Tensor x) = 0;
  // D, the width of the global-average-pooled feature.
  virtual int64_t feature_size() const = 0;
  // Registry name ("conv4").
  virtual std::string name() const = 0;

  // Deep InfoMax's encoder: the features (N, D) and the first block's map M
  // after conv -> BatchNorm -> ReLU, before any pooling: conv4 (N, 8, H, W),
  // CIFAR ResNets (N, 16, H, W), ImageNet ResNets (N, 64, H/2, W/2). Runs
  // LibTorch's modules (no fused kernel keeps M); the features equal
  // forward()'s within float rounding.
  virtual std::pair<torch::Tensor, torch::Tensor> forward_with_first_map(torch::Tensor x) = 0;
  // Channels of that map.
  virtual int64_t first_map_channels() const = 0;

  // relnet's fused CPU kernels where the backbone has them (Conv4 while
  // training in float32 on a CPU: models/fused_conv_block.h for the first
  // block, models/fused_second_block.h for the second, models/
  // fused_batchnorm.h for the later blocks' BatchNorm -> ReLU -> pooling), or
  // LibTorch's modules throughout: the same results within float rounding.
  // On by default; the ResNets have no fused kernels and ignore it.
  void set_fused(bool on) { fused_ = on; }
  bool fused() const { return fused_; }

 private:
  bool fused_ = true;
};

using Backbone = std::shared_ptr<BackboneImpl>;

// Names accepted by make_backbone.
const std::vector<std::string>& known_backbones();

// Builds a freshly initialised backbone (REFERENCE.md init, drawing from
// LibTorch's default generator: seed it with torch::manual_seed first).
// Throws std::invalid_argument for an unknown name, listing the known ones.
Backbone make_backbone(const std::string& name);

// `x` (N, C, H, W) in channels-last (NHWC) memory order, the same values.
// Backbones start with it: on CPU, LibTorch's oneDNN convolutions and its
// BatchNorm, ReLU and pooling kernels run about 25-30% faster on NHWC
// activations than on NCHW ones (forward + backward, conv4 and resnet32,
// docs/PERFORMANCE.md), and activations keep the order layer to layer.
torch::Tensor to_channels_last(const torch::Tensor& x);

// Frozen features of `images` ((N, 3, H, W) uint8): normalized, forwarded in
// eval mode under no-grad, in batches of `batch_size`, on `device`.
// Returns (N, D) float on the CPU. Leaves the backbone in eval mode.
torch::Tensor extract_features(BackboneImpl& backbone, const torch::Tensor& images,
                               const Normalization& norm, torch::Device device,
                               int64_t batch_size = 512);

// Number of trainable parameters of a module.
int64_t count_parameters(const torch::nn::Module& module);

}  // namespace relnet
