// Conv4's first block while training, conv3x3 (few input channels -> 8) ->
// BatchNorm2d (batch statistics) -> ReLU -> AvgPool2d(2), as one CPU kernel,
// forward and backward.
//
// On 3-channel images this is the most expensive block of Conv4: its
// activation is the largest (8 x 32 x 32 per CIFAR image) and oneDNN's
// convolution reaches a third of the speed it reaches on the later layers.
// The kernel computes the convolution with the 16 pooled positions of a
// row in one vector (even and odd columns apart, so that pooling adds whole
// vectors), sums BatchNorm's statistics while the output is in registers,
// and backwards computes the weight gradient straight from BatchNorm's input
// gradient, which never reaches memory. The input gets no gradient: it is the
// network's input.
//
// Same results as Conv2d -> BatchNorm2d -> ReLU -> AvgPool2d within float
// rounding (tests compare the output, every gradient and the running
// statistics).
#pragma once

#include <torch/torch.h>

namespace relnet {

// Whether `conv` is a 3x3, stride 1, padding 1 (zeros) convolution without
// dilation, groups or bias, with float32 weights on the CPU: the convolution
// of a Conv4 block, which the fused block kernels compute.
bool is_same_size_conv3x3(const torch::nn::Conv2dImpl& conv);

// Whether conv_batchnorm_relu_pool takes `x` with `conv`: x a 4-D float32
// CPU tensor that needs no gradient, with conv's input channels (at most 4),
// H, W >= 2; conv 3x3, stride 1, padding 1, no dilation, groups or bias, 8
// output channels, float32 weights on the CPU.
bool fused_conv_block_applies(const torch::Tensor& x, const torch::nn::Conv2dImpl& conv);

// pool(relu(bn(conv(x)))) with `bn` in training mode: normalises with the
// batch's statistics and updates bn's running mean, running variance
// (unbiased) and num_batches_tracked as BatchNorm2d does. x: (N, Cin, H, W)
// in any memory order; the result is contiguous (N, 8, H/2, W/2), the layout
// the fused second block reads fastest.
// Differentiable in conv's weight and bn's weight and bias.
torch::Tensor conv_batchnorm_relu_pool(const torch::Tensor& x, torch::nn::Conv2dImpl& conv,
                                       torch::nn::BatchNorm2dImpl& bn);

}  // namespace relnet
