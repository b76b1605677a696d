// ResNet backbones: the CIFAR ResNets of the reference and torchvision's
// ResNet-18/34 with the same module names, so state dicts move between them.
#include "relnet/models/resnet.h"

#include <stdexcept>
#include <utility>

#include "relnet/models/conv4.h"

namespace relnet {
namespace {

torch::nn::Conv2d conv(int64_t in, int64_t out, int64_t kernel, int64_t stride, int64_t padding) {
  return torch::nn::Conv2d(
      torch::nn::Conv2dOptions(in, out, kernel).stride(stride).padding(padding).bias(false));
}

// torchvision's BasicBlock: relu(bn2(conv2(relu(bn1(conv1(x))))) + shortcut(x)),
// shortcut = downsample (conv1x1(stride) + BN) when the shape changes, else x.
class BasicBlockImpl : public torch::nn::Module {
 public:
  BasicBlockImpl(int64_t in, int64_t out, int64_t stride)
      : conv1_(register_module("conv1", conv(in, out, 3, stride, 1))),
        bn1_(register_module("bn1", torch::nn::BatchNorm2d(out))),
        conv2_(register_module("conv2", conv(out, out, 3, 1, 1))),
        bn2_(register_module("bn2", torch::nn::BatchNorm2d(out))) {
    if (stride != 1 || in != out) {
      torch::nn::Sequential downsample;
      downsample->push_back(conv(in, out, 1, stride, 0));  // key downsample.0
      downsample->push_back(torch::nn::BatchNorm2d(out));  // key downsample.1
      downsample_ = register_module("downsample", downsample);
    }
  }

  // x: (N, in, H, W) -> (N, out, ceil(H / stride), ceil(W / stride)).
  torch::Tensor forward(torch::Tensor x) {
    torch::Tensor out = torch::relu(bn1_->forward(conv1_->forward(x)));
    out = bn2_->forward(conv2_->forward(out));
    const torch::Tensor shortcut = downsample_ ? downsample_->forward(x) : x;
    return torch::relu(out + shortcut);
  }

 private:
  torch::nn::Conv2d conv1_;
  torch::nn::BatchNorm2d bn1_;
  torch::nn::Conv2d conv2_;
  torch::nn::BatchNorm2d bn2_;
  torch::nn::Sequential downsample_{nullptr};
};
TORCH_MODULE(BasicBlock);

}  // namespace

const std::vector<std::string>& resnet_names() {
  static const std::vector<std::string> names = {"resnet8", "resnet32", "resnet56", "resnet18",
                                                 "resnet34"};
  return names;
}

ResNetSpec resnet_spec(const std::string& name) {
  const std::vector<int64_t> cifar = {16, 32, 64}, imagenet = {64, 128, 256, 512};
  if (name == "resnet8") return {name, false, {1, 1, 1}, cifar};
  if (name == "resnet32") return {name, false, {5, 5, 5}, cifar};
  if (name == "resnet56") return {name, false, {9, 9, 9}, cifar};
  if (name == "resnet18") return {name, true, {2, 2, 2, 2}, imagenet};
  if (name == "resnet34") return {name, true, {3, 4, 6, 3}, imagenet};
  throw std::invalid_argument("unknown ResNet '" + name + "'");
}

ResNetImpl::ResNetImpl(ResNetSpec spec) : spec_(std::move(spec)) {
  if (spec_.blocks.empty() || spec_.blocks.size() != spec_.channels.size()) {
    throw std::invalid_argument(
        "ResNet '" + spec_.name + "': " + std::to_string(spec_.blocks.size()) +
        " stages of blocks but " + std::to_string(spec_.channels.size()) + " of channels");
  }
  const int64_t stem = spec_.channels[0];
  conv1_ = register_module("conv1",
                           spec_.imagenet_stem ? conv(3, stem, 7, 2, 3) : conv(3, stem, 3, 1, 1));
  bn1_ = register_module("bn1", torch::nn::BatchNorm2d(stem));
  int64_t in = stem;
  for (size_t s = 0; s < spec_.blocks.size(); ++s) {
    const int64_t out = spec_.channels[s];
    torch::nn::Sequential layer;  // children named 0, 1, 2, ...
    for (int64_t b = 0; b < spec_.blocks[s]; ++b) {
      layer->push_back(BasicBlock(in, out, (s > 0 && b == 0) ? 2 : 1));
      in = out;
    }
    layers_.push_back(register_module("layer" + std::to_string(s + 1), layer));
  }
  init_reference_weights(*this);
}

torch::Tensor ResNetImpl::forward(torch::Tensor x) { return forward_with_first_map(x).first; }

std::pair<torch::Tensor, torch::Tensor> ResNetImpl::forward_with_first_map(torch::Tensor x) {
  x = to_channels_last(x);
  const torch::Tensor M = torch::relu(bn1_->forward(conv1_->forward(x)));
  x = M;
  if (spec_.imagenet_stem) x = torch::max_pool2d(x, /*kernel_size=*/3, /*stride=*/2, /*padding=*/1);
  for (auto& layer : layers_) x = layer->forward(x);
  return {torch::adaptive_avg_pool2d(x, {1, 1}).flatten(1), M};  // (N, C), (N, C0, H', W')
}

}  // namespace relnet
