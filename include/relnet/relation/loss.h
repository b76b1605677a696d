// Loss and accuracy over relation pairs: BCE with logits (the reference's
// essential objective), mean over pairs.
#pragma once

#include <torch/torch.h>

namespace relnet {

// logits (P), targets (P) in {0, 1} -> scalar mean BCE-with-logits.
torch::Tensor relation_loss(const torch::Tensor& logits, const torch::Tensor& targets);

// Share of pairs whose rounded sigmoid equals the target, over all pairs and
// over positives and negatives apart (NaN-free: 0 when a side is empty).
struct PairAccuracy {
  double all = 0;
  double positive = 0;
  double negative = 0;
};
PairAccuracy pair_accuracy(const torch::Tensor& logits, const torch::Tensor& targets);

}  // namespace relnet
