// Conv4 backbone of the reference implementation.
#include "relnet/models/conv4.h"

#include <ATen/autocast_mode.h>

#include <cmath>

#include "relnet/models/fused_batchnorm.h"
#include "relnet/models/fused_conv_block.h"
#include "relnet/models/fused_second_block.h"

namespace relnet {
namespace {

torch::nn::Sequential conv_block(int64_t in, int64_t out, bool global_pool) {
  torch::nn::Sequential block;
  block->push_back(
      "conv",
      torch::nn::Conv2d(torch::nn::Conv2dOptions(in, out, 3).stride(1).padding(1).bias(false)));
  block->push_back("bn", torch::nn::BatchNorm2d(out));
  block->push_back("relu", torch::nn::ReLU());
  if (global_pool) {
    block->push_back("glbpool", torch::nn::AdaptiveAvgPool2d(1));
  } else {
    block->push_back("avgpool", torch::nn::AvgPool2d(2));
  }
  return block;
}

}  // namespace

Conv4Impl::Conv4Impl() {
  layer1_ = register_module("layer1", conv_block(3, 8, false));
  layer2_ = register_module("layer2", conv_block(8, 16, false));
  layer3_ = register_module("layer3", conv_block(16, 32, false));
  layer4_ = register_module("layer4", conv_block(32, 64, true));
  init_reference_weights(*this);
}

torch::Tensor Conv4Impl::forward(torch::Tensor x) {
  // The fused path needs float32 activations: not under bf16 autocast.
  if (fused() && is_training() && fused_batchnorm_applies(x) && !at::autocast::is_cpu_enabled()) {
    torch::nn::Sequential* layers[] = {&layer1_, &layer2_, &layer3_, &layer4_};
    int first = 0;
    auto* conv1 = layer1_[0]->as<torch::nn::Conv2d>();
    auto* conv2 = layer2_[0]->as<torch::nn::Conv2d>();
    if (fused_conv_block_applies(x, *conv1)) {  // takes the input in any memory order
      x = conv_batchnorm_relu_pool(x, *conv1, *layer1_[1]->as<torch::nn::BatchNorm2d>());
      first = 1;
      if (fused_second_block_applies(x, *conv2)) {  // reads the first block's layout fastest
        x = fused_second_block(x, *conv2, *layer2_[1]->as<torch::nn::BatchNorm2d>());
        first = 2;
      }
    }
    if (first < 2) x = to_channels_last(x);
    for (int i = first; i < 4; ++i) {
      torch::nn::Sequential& layer = *layers[i];
      x = layer[0]->as<torch::nn::Conv2d>()->forward(x);
      x = batchnorm_relu_pool(x, *layer[1]->as<torch::nn::BatchNorm2d>(),
                              i == 3 ? FusedPool::kGlobal : FusedPool::kAvg2);
    }
    return x.flatten(1);  // (N, 64, 1, 1) -> (N, 64)
  }
  x = to_channels_last(x);
  x = layer4_->forward(layer3_->forward(layer2_->forward(layer1_->forward(x))));
  return x.flatten(1);  // (N, 64, 1, 1) -> (N, 64)
}

std::pair<torch::Tensor, torch::Tensor> Conv4Impl::forward_with_first_map(torch::Tensor x) {
  x = to_channels_last(x);
  x = layer1_[0]->as<torch::nn::Conv2d>()->forward(x);
  const torch::Tensor M = torch::relu(layer1_[1]->as<torch::nn::BatchNorm2d>()->forward(x));
  x = torch::avg_pool2d(M, 2);
  x = layer4_->forward(layer3_->forward(layer2_->forward(x)));
  return {x.flatten(1), M};  // (N, 64), (N, 8, H, W)
}

void init_reference_weights(torch::nn::Module& module) {
  torch::NoGradGuard no_grad;
  for (auto& m : module.modules(/*include_self=*/false)) {
    if (auto* conv = m->as<torch::nn::Conv2d>()) {
      const auto& k = conv->options.kernel_size();
      const double n = static_cast<double>((*k)[0] * (*k)[1] * conv->options.out_channels());
      conv->weight.normal_(0.0, std::sqrt(2.0 / n));
    } else if (auto* bn = m->as<torch::nn::BatchNorm2d>()) {
      bn->weight.fill_(1.0);
      bn->bias.zero_();
    }
  }
}

}  // namespace relnet
