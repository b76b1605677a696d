// The kind of tensor relnet's fused CPU kernels compute on. Private to
// relnet_core; tests/kernel_float_cpu_test.cpp checks it.
#pragma once

#include <torch/torch.h>

namespace relnet {

// True for a defined float32 tensor on the CPU (any shape, any strides): the
// only tensors the fused kernels read and write; anything else runs
// LibTorch's modules instead.
inline bool is_float_cpu(const torch::Tensor& t) {
  return t.defined() && t.device().is_cpu() && t.scalar_type() == torch::kFloat32;
}

}  // namespace relnet
