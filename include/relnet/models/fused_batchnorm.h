// BatchNorm2d (batch statistics) -> ReLU -> average pooling as one CPU
// kernel, forward and backward: the tail of every Conv4 block while
// training. LibTorch runs these as separate memory-bound passes over the
// convolution's output (BatchNorm's two, ReLU's, pooling's, and as many again
// backwards, each reading and writing a full activation); the fused kernel
// reads the convolution's output twice forward and twice backward and keeps
// only that tensor for the backward pass.
//
// Same results as the modules within float rounding (tests compare outputs,
// every gradient and the running statistics).
#pragma once

#include <torch/torch.h>

namespace relnet {

enum class FusedPool {
  kAvg2,    // AvgPool2d(2): (H, W) -> (H/2, W/2), a trailing odd row/column dropped
  kGlobal,  // AdaptiveAvgPool2d(1): (H, W) -> (1, 1)
};

// Whether the fused kernel takes `x`: a 4-D float32 CPU tensor.
bool fused_batchnorm_applies(const torch::Tensor& x);

// pool(relu(bn(x))) with `bn` in training mode: normalises with the batch's
// statistics and updates bn's running mean, running variance (unbiased) and
// num_batches_tracked as BatchNorm2d does. x: (N, C, H, W), any memory
// order (channels-last is used as is); the result is channels-last
// (N, C, H', W'). Differentiable in x, bn's weight and bn's bias.
torch::Tensor batchnorm_relu_pool(const torch::Tensor& x, torch::nn::BatchNorm2dImpl& bn,
                                  FusedPool pool);

}  // namespace relnet
