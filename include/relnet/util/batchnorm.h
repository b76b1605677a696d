// Bookkeeping shared by relnet's fused kernels that stand in for LibTorch's
// BatchNorm modules in training mode.
#pragma once

#include <torch/torch.h>

#include <cstdint>

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

}  // namespace relnet
