// The fuzz build's stand-in for src/models/fused_second_block.cpp, whose
// kernels use GCC's __builtin_shuffle, which clang lacks. The parsers link
// the models layer only for its registry and Conv4's parameters and never
// run a forward pass; Conv4 asks fused_second_block_applies first, so the
// stub answers no and LibTorch's modules would run instead.
#include <stdexcept>

#include "relnet/models/fused_second_block.h"

namespace relnet {

bool fused_second_block_applies(const torch::Tensor&, const torch::nn::Conv2dImpl&) {
  return false;
}

torch::Tensor fused_second_block(const torch::Tensor&, torch::nn::Conv2dImpl&,
                                 torch::nn::BatchNorm2dImpl&) {
  throw std::logic_error("fused_second_block is not part of the fuzz build");
}

}  // namespace relnet
