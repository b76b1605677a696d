// BCE relation loss and pair accuracy.
#include "relnet/relation/loss.h"

#include <stdexcept>

namespace relnet {

LossKind parse_loss(const std::string& name) {
  if (name == "bce") return LossKind::kBce;
  if (name == "focal") return LossKind::kFocal;
  throw std::invalid_argument("unknown loss '" + name + "' (known: bce, focal)");
}

torch::Tensor relation_loss(const torch::Tensor& logits, const torch::Tensor& targets,
                            const LossOptions& options) {
  if (options.kind == LossKind::kBce) {
    return torch::binary_cross_entropy_with_logits(logits, targets);
  }
  const auto bce = torch::binary_cross_entropy_with_logits(logits, targets, /*weight=*/{},
                                                           /*pos_weight=*/{}, at::Reduction::None);
  const auto p = torch::sigmoid(logits);
  const auto p_t = targets * p + (1 - targets) * (1 - p);
  const auto alpha_t = targets * options.alpha + (1 - targets) * (1 - options.alpha);
  return (torch::abs(1 - p_t).pow(options.gamma) * alpha_t * bce).mean();
}

torch::Tensor pair_accuracy_counts(const torch::Tensor& logits, const torch::Tensor& targets) {
  torch::NoGradGuard no_grad;
  // round(sigmoid(x)) == 1 exactly when x > 0 (sigmoid(0) = 0.5 rounds to 0).
  const auto predicted = (logits.detach() > 0).to(torch::kFloat32);
  const auto correct = (predicted == targets).to(torch::kFloat32);
  const auto pos = targets > 0.5f;
  const auto neg = pos.logical_not();
  return torch::stack(
             {correct.sum(), (correct * pos).sum(), pos.sum(), (correct * neg).sum(), neg.sum()})
      .to(torch::kFloat64);
}

torch::Tensor pair_accuracies(const torch::Tensor& logits, const torch::Tensor& targets) {
  const torch::Tensor c = pair_accuracy_counts(logits, targets);
  const torch::Tensor num = torch::stack({c[0], c[1], c[3]});
  const torch::Tensor den = torch::stack({c[2] + c[4], c[2], c[4]}).clamp_min(1.0);
  return num / den;
}

}  // namespace relnet
