// Loss and accuracy over relation pairs: BCE with logits (the reference's
// essential objective) or sigmoid focal loss (its full code), mean over pairs.
#pragma once

#include <torch/torch.h>

#include <string>

namespace relnet {

enum class LossKind { kBce, kFocal };

struct LossOptions {
  LossKind kind = LossKind::kBce;
  /// Focal loss: weight |1 - p_t|^gamma and class weight alpha (positives),
  /// 1 - alpha (negatives). Ignored for BCE.
  double gamma = 2.0;
  double alpha = 0.5;
};

// "bce" | "focal"; throws std::invalid_argument otherwise.
LossKind parse_loss(const std::string& name);

// logits (P), targets (P) in {0, 1} -> scalar:
//   bce:   mean(bce), bce = BCE-with-logits per pair;
//   focal: mean(|1 - p_t|^gamma * (t*alpha + (1-t)*(1-alpha)) * bce),
//          p = sigmoid(logit), p_t = t*p + (1-t)*(1-p).
torch::Tensor relation_loss(const torch::Tensor& logits, const torch::Tensor& targets,
                            const LossOptions& options = {});

// The counts behind the pair accuracies as a (5) float64 tensor on the
// logits' device, without a host synchronisation: correct, correct
// positives, positives, correct negatives, negatives.
torch::Tensor pair_accuracy_counts(const torch::Tensor& logits, const torch::Tensor& targets);

// Share of pairs whose rounded sigmoid equals the target, over all pairs and
// over positives and negatives apart (NaN-free: 0 when a side is empty), as
// a (3) float64 tensor on the logits' device: all, positive, negative.
torch::Tensor pair_accuracies(const torch::Tensor& logits, const torch::Tensor& targets);

}  // namespace relnet
