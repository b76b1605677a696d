// Conv4's second block while training, conv3x3 (8 -> 16 channels) ->
// BatchNorm2d (batch statistics) -> ReLU -> AvgPool2d(2), as one CPU kernel,
// forward and backward, the input gradient included.
//
// On 16x16 inputs oneDNN's convolution runs this block at about two thirds of
// the speed it reaches on the later ones (8 input channels are too few for
// its channels-last kernels), and its 16-channel 16x16 output is the largest
// activation after the first block's: BatchNorm, ReLU and pooling cost five
// passes over it. The kernel keeps a row of 16 output columns in one vector,
// computes BatchNorm's statistics while the output is in registers, and
// backwards computes BatchNorm's input gradient one image at a time into a
// buffer that stays in the cache, from which both the weight gradient and
// the input gradient are computed.
//
// Same results as Conv2d -> BatchNorm2d -> ReLU -> AvgPool2d within float
// rounding (tests compare the output, every gradient and the running
// statistics).
#pragma once

#include <torch/torch.h>

namespace relnet {

// Whether fused_second_block takes `x` with `conv`: x a 4-D float32 CPU
// tensor of 8 channels, H, W >= 2; conv 8 -> 16 channels, 3x3, stride 1,
// padding 1, without dilation, groups or bias, float32 weights on the CPU.
bool fused_second_block_applies(const torch::Tensor& x, const torch::nn::Conv2dImpl& conv);

// pool(relu(bn(conv(x)))) with `bn` in training mode: normalises with the
// batch's statistics and updates bn's running mean, running variance
// (unbiased) and num_batches_tracked as BatchNorm2d does. x: (N, 8, H, W) in
// any memory order, fastest contiguous; the result is channels-last (N, 16,
// H/2, W/2), as the next block's convolution takes it. Differentiable in x
// (the gradient is contiguous), conv's weight and bn's weight and bias.
torch::Tensor fused_second_block(const torch::Tensor& x, torch::nn::Conv2dImpl& conv,
                                 torch::nn::BatchNorm2dImpl& bn);

}  // namespace relnet
