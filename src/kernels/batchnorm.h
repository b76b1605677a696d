// Bookkeeping shared by relnet's fused kernels that stand in for LibTorch's
// BatchNorm modules in training mode. Private to relnet_core.
#pragma once

#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

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

// Per-chunk sums of C channels laid out as the fused kernels write them:
// chunk k's C first sums at 2kC, its C second sums at (2k + 1)C. Adds the
// chunks in order (so the totals do not depend on scheduling) into `first`
// and `second`.
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

// A batch's per-channel statistics in float32: mean and 1 / sqrt(var + eps).
struct BatchMoments {
  torch::Tensor mean, invstd;
};

// The batch statistics of C channels from per-chunk sums of x and of x^2
// over M values per channel (laid out as for total_chunk_sums), and
// BatchNorm2d's training-mode
// update of the running mean and the running (unbiased) variance.
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
  torch::NoGradGuard no_grad;
  const torch::Tensor unbiased =
      torch::tensor(var, torch::kFloat64).mul_(double(M) / double(M - 1));
  torch::Tensor rm = running_mean, rv = running_var;  // handles onto the module's buffers
  rm.mul_(1 - momentum).add_(m.mean.to(rm.dtype()), momentum);
  rv.mul_(1 - momentum).add_(unbiased.to(rv.dtype()), momentum);
  return m;
}

// Per-channel constants of a fused BatchNorm -> ReLU backward pass.
// Forwards, BatchNorm's output is y * scale + shift; backwards, its input
// gradient is dy = scale * du + k0 + k1 * y, du being the gradient at its
// output (zero where ReLU was off).
struct BatchNormGradient {
  std::vector<float> scale, shift, mean, invstd, k0, k1;
};

// scale, shift, mean and invstd of C channels from BatchNorm's weight and
// bias and the batch's mean and 1 / std; k0 and k1 follow from the batch's
// sums (batchnorm_backward_totals).
inline BatchNormGradient batchnorm_gradient_constants(const float* gamma, const float* beta,
                                                      const float* mean, const float* invstd,
                                                      int64_t C) {
  BatchNormGradient k;
  k.scale.resize(C);
  k.shift.resize(C);
  k.mean.assign(mean, mean + C);
  k.invstd.assign(invstd, invstd + C);
  k.k0.assign(C, 0.f);
  k.k1.assign(C, 0.f);
  for (int64_t c = 0; c < C; ++c) {
    k.scale[c] = gamma[c] * invstd[c];
    k.shift[c] = beta[c] - mean[c] * k.scale[c];
  }
  return k;
}

// Adds the per-chunk sums of du and du * xhat (laid out as for
// total_chunk_sums) over the batch, M values per channel, into BatchNorm's
// parameter gradients `dgamma` and `dbeta` (new float32 tensors) and sets k0
// and k1 of `k`.
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
    // dy = scale * (du - s / M - xhat * q / M), xhat = (y - mean) * invstd.
    const double b = k.scale[c] * s / M, cc = k.scale[c] * q / M;
    k.k0[c] = static_cast<float>(-b + cc * k.mean[c] * k.invstd[c]);
    k.k1[c] = static_cast<float>(-cc * k.invstd[c]);
  }
}

}  // namespace relnet
