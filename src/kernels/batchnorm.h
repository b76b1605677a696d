// BatchNorm arithmetic shared by relnet's fused CPU kernels, which stand in
// for LibTorch's BatchNorm modules in training mode: each formula is written
// here once and called by every kernel (models/fused_batchnorm.cpp,
// fused_conv_block.cpp, fused_second_block.cpp, relation/fused_head.cpp).
// Private to relnet_core; tests/kernel_batchnorm_test.cpp checks each helper
// against plain LibTorch arithmetic.
#pragma once

#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

#include "kernels/simd.h"
#include "kernels/vec16.h"  // the element helpers take its vectors (and its -Wpsabi setting)

namespace relnet {

// Counts one training step in `num_batches_tracked` (as a BatchNorm module's
// forward does) and returns the factor of that step's running-statistics
// update: `momentum`, or the cumulative average 1 / steps when it is unset.
inline double count_batchnorm_step(torch::Tensor& num_batches_tracked,
                                   const c10::optional<double>& momentum) {
  torch::NoGradGuard no_grad;
  num_batches_tracked.add_(1);
  return momentum.has_value() ? *momentum
                              : 1.0 / static_cast<double>(num_batches_tracked.item<int64_t>());
}

// The start of a fused kernel's training step with BatchNorm2d `bn` over C
// channels: refuses a `bn` that is not affine, does not track running
// statistics or has another number of channels, then counts the step
// (count_batchnorm_step) and returns its momentum.
inline double start_batchnorm2d_step(torch::nn::BatchNorm2dImpl& bn, int64_t C) {
  TORCH_CHECK(bn.options.affine() && bn.options.track_running_stats(),
              "fused BatchNorm needs an affine BatchNorm2d that tracks running statistics");
  TORCH_CHECK(bn.options.num_features() == C, "BatchNorm2d of ", bn.options.num_features(),
              " channels given ", C, " channels");
  return count_batchnorm_step(bn.num_batches_tracked, bn.options.momentum());
}

// Per-chunk sums of C channels laid out as the fused kernels write them:
// chunk k's C first sums at 2kC, its C second sums at (2k + 1)C. Adds the
// chunks in order (so the totals do not depend on scheduling) into `first`
// and `second` (C each).
inline void total_chunk_sums(const std::vector<double>& sums, int64_t chunks, int64_t C,
                             std::vector<double>& first, std::vector<double>& second) {
  first.assign(C, 0.0);
  second.assign(C, 0.0);
  for (int64_t k = 0; k < chunks; ++k) {
    for (int64_t c = 0; c < C; ++c) {
      first[c] += sums[2 * k * C + c];
      second[c] += sums[(2 * k + 1) * C + c];
    }
  }
}

// BatchNorm's training-mode update of its running statistics from a batch
// of M values per channel: running = (1 - momentum) running + momentum *
// batch, with the batch's `mean` and its biased variance `var` (C values
// each, any floating type; the variance is made unbiased, times M / (M - 1),
// in float64). The buffers keep their dtype; no autograd.
inline void update_running_statistics(torch::Tensor running_mean, torch::Tensor running_var,
                                      const torch::Tensor& mean, const torch::Tensor& var,
                                      int64_t M, double momentum) {
  torch::NoGradGuard no_grad;
  const torch::Tensor unbiased = var.to(torch::kFloat64) * (double(M) / double(M - 1));
  running_mean.mul_(1 - momentum).add_(mean.to(running_mean.dtype()), momentum);
  running_var.mul_(1 - momentum).add_(unbiased.to(running_var.dtype()), momentum);
}

// A batch's per-channel statistics in float32: mean and 1 / sqrt(var + eps),
// (C) each.
struct BatchMoments {
  torch::Tensor mean, invstd;
};

// The batch statistics of C channels from per-chunk sums of x and of x^2
// over M values per channel (laid out as for total_chunk_sums), computed in
// double, and BatchNorm2d's update of the running statistics
// (update_running_statistics).
inline BatchMoments batch_moments(const std::vector<double>& sums, int64_t chunks, int64_t C,
                                  int64_t M, double eps, const torch::Tensor& running_mean,
                                  const torch::Tensor& running_var, double momentum) {
  BatchMoments m{torch::empty({C}, torch::kFloat32), torch::empty({C}, torch::kFloat32)};
  std::vector<double> var(C), s, q;
  total_chunk_sums(sums, chunks, C, s, q);
  for (int64_t c = 0; c < C; ++c) {
    const double mean = s[c] / static_cast<double>(M);
    var[c] = std::max(0.0, q[c] / static_cast<double>(M) - mean * mean);
    m.mean.data_ptr<float>()[c] = static_cast<float>(mean);
    m.invstd.data_ptr<float>()[c] = static_cast<float>(1.0 / std::sqrt(var[c] + eps));
  }
  update_running_statistics(running_mean, running_var, m.mean, torch::tensor(var, torch::kFloat64),
                            M, momentum);
  return m;
}

// BatchNorm's output as one multiply-add per value: gamma * (x - mean) *
// invstd + beta = x * scale + shift, with scale = gamma * invstd and shift =
// beta - mean * scale, for C channels (float arithmetic, in this order).
inline void batchnorm_affine(const float* gamma, const float* beta, const float* mean,
                             const float* invstd, int64_t C, float* scale, float* shift) {
  for (int64_t c = 0; c < C; ++c) {
    scale[c] = gamma[c] * invstd[c];
    shift[c] = beta[c] - mean[c] * scale[c];
  }
}

// Per-channel constants of a fused BatchNorm -> ReLU backward pass, (C) each.
// Forwards, BatchNorm's output is y * scale + shift; backwards, with du the
// gradient at its output (zero where ReLU was off, relu_gated) and xhat =
// (y - mean) * invstd, its input gradient is
//   dy = scale * (du - mean(du) - xhat * mean(du * xhat))
//      = scale * du - b - c * xhat      (b = scale mean(du), c = scale mean(du xhat))
//      = scale * du + k0 + k1 * y       (batchnorm_input_gradient).
// b, c, k0 and k1 follow from the batch's sums (batchnorm_backward_totals).
struct BatchNormGradient {
  std::vector<float> scale, shift, mean, invstd, b, c, k0, k1;
};

// scale, shift (batchnorm_affine), mean and invstd of C channels from
// BatchNorm's weight and bias and the batch's mean and 1 / std.
inline BatchNormGradient batchnorm_gradient_constants(const float* gamma, const float* beta,
                                                      const float* mean, const float* invstd,
                                                      int64_t C) {
  BatchNormGradient k;
  k.scale.resize(C);
  k.shift.resize(C);
  k.mean.assign(mean, mean + C);
  k.invstd.assign(invstd, invstd + C);
  k.b.assign(C, 0.f);
  k.c.assign(C, 0.f);
  k.k0.assign(C, 0.f);
  k.k1.assign(C, 0.f);
  batchnorm_affine(gamma, beta, mean, invstd, C, k.scale.data(), k.shift.data());
  return k;
}

// Adds the per-chunk sums of du and du * xhat (laid out as for
// total_chunk_sums) over the batch, M values per channel, into BatchNorm's
// parameter gradients `dgamma` = sum du xhat and `dbeta` = sum du (new
// float32 (C) tensors) and sets b, c, k0 and k1 of `k` (in double, then
// rounded to float).
inline void batchnorm_backward_totals(const std::vector<double>& sums, int64_t chunks, double M,
                                      BatchNormGradient& k, torch::Tensor& dgamma,
                                      torch::Tensor& dbeta) {
  const int64_t C = static_cast<int64_t>(k.scale.size());
  std::vector<double> sum_du, sum_du_xhat;
  total_chunk_sums(sums, chunks, C, sum_du, sum_du_xhat);
  dgamma = torch::empty({C}, torch::kFloat32);
  dbeta = torch::empty({C}, torch::kFloat32);
  for (int64_t c = 0; c < C; ++c) {
    const double s = sum_du[c], q = sum_du_xhat[c];
    dbeta.data_ptr<float>()[c] = static_cast<float>(s);
    dgamma.data_ptr<float>()[c] = static_cast<float>(q);
    const double b = k.scale[c] * s / M, cc = k.scale[c] * q / M;
    k.b[c] = static_cast<float>(b);
    k.c[c] = static_cast<float>(cc);
    // xhat = (y - mean) * invstd, so -b - cc * xhat = k0 + k1 * y.
    k.k0[c] = static_cast<float>(-b + cc * k.mean[c] * k.invstd[c]);
    k.k1[c] = static_cast<float>(-cc * k.invstd[c]);
  }
}

// In the kernels' inner loops, on a float or a 16-float vector (vec16::vec)
// T (taken by reference: always inlined, and no 64-byte vector is passed by
// value, which GCC notes as an ABI change): the gradient `g` arriving at ReLU's output, passed
// where BatchNorm's output y * scale + shift is positive and zero elsewhere (NaN compares false:
// zero).
template <typename T>
RELNET_INLINE T relu_gated(const T& y, const T& scale, const T& shift, const T& g) {
  return y * scale + shift > 0.f ? g : T{};
}

// BatchNorm's input gradient scale * du + k0 + k1 * y (BatchNormGradient),
// du being the gated gradient at its output (relu_gated), on a float or a
// 16-float vector T.
template <typename T>
RELNET_INLINE T batchnorm_input_gradient(const T& du, const T& y, const T& scale, const T& k0,
                                         const T& k1) {
  return scale * du + k0 + k1 * y;
}

}  // namespace relnet
