// The relation head's tail over every pair as one CPU kernel, forward and
// backward: BatchNorm1d (batch statistics) -> LeakyReLU -> Linear(hidden, 1)
// applied to hidden_p = left[l_p] + right[r_p], the sum of two per-view
// projections (relation/head.h). The (pairs x hidden) matrix is never
// stored: each pass recomputes a pair's hidden row from the two projections,
// which stay in cache (K*B rows each), where LibTorch's modules would write
// and re-read a 63,488 x 256 matrix about ten times per step at K=32.
//
// Same results as the modules within float rounding (tests compare logits,
// every gradient and the running statistics).
#pragma once

#include <torch/torch.h>

namespace relnet {

// Whether the fused kernel takes these projections: 2-D float32 on the CPU.
bool fused_pair_head_applies(const torch::Tensor& left, const torch::Tensor& right);

// Logits (P) of fc(leaky_relu(bn(left[left_index] + right[right_index]),
// slope)) with `bn` in training mode: normalises with the P pairs' statistics
// and updates bn's running statistics and num_batches_tracked as
// BatchNorm1d does. left, right: (R, H); indices: (P) int64 in [0, R); fc:
// Linear(H, 1). Differentiable in left, right, bn's weight and bias, fc's
// weight and bias.
torch::Tensor fused_pair_head(const torch::Tensor& left, const torch::Tensor& right,
                              const torch::Tensor& left_index, const torch::Tensor& right_index,
                              torch::nn::BatchNorm1dImpl& bn, torch::nn::LinearImpl& fc,
                              double negative_slope);

// The cat head's per-view projections: left = features wa^T and right =
// features wb^T + bias, wa and wb being the first and second halves of the
// columns of `weight` (H, 2D), as torch::mm and torch::addmm give them, but
// with the matrix products split by bands of rows over the intra-op threads
// (a single BLAS call on these shapes runs on one thread). Differentiable in
// features, weight and bias.
bool view_projections_apply(const torch::Tensor& features, const torch::Tensor& weight);
std::pair<torch::Tensor, torch::Tensor> view_projections(const torch::Tensor& features,
                                                         const torch::Tensor& weight,
                                                         const torch::Tensor& bias);

}  // namespace relnet
