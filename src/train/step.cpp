// The self-supervised step with per-part timing.
#include "relnet/train/step.h"

#include <torch/cuda.h>

#include <chrono>

namespace relnet {
namespace {

using Clock = std::chrono::steady_clock;

// Seconds since `t` (then t = now). On CUDA, waits for queued kernels first so
// the time belongs to the part that queued them.
double lap(Clock::time_point& t, bool cuda) {
  if (cuda) torch::cuda::synchronize();
  const auto now = Clock::now();
  const double s = std::chrono::duration<double>(now - t).count();
  t = now;
  return s;
}

}  // namespace

RelationStep::RelationStep(Backbone backbone, RelationHead head, int64_t K, Aggregation aggregation,
                           LossOptions loss, bool straightforward)
    : backbone_(std::move(backbone)),
      head_(std::move(head)),
      K_(K),
      aggregation_(aggregation),
      loss_(loss),
      straightforward_(straightforward) {}

StepOutput RelationStep::forward_backward(const torch::Tensor& views, StepTimes& times) {
  const bool cuda = views.is_cuda();
  auto t = Clock::now();
  for (auto& p : backbone_->parameters()) p.mutable_grad() = torch::Tensor();
  for (auto& p : head_->parameters()) p.mutable_grad() = torch::Tensor();
  const torch::Tensor features = backbone_->forward(views);  // (K*B, D)
  times.backbone_forward += lap(t, cuda);

  // The head works on a leaf copy of the features, so its backward stops there.
  const torch::Tensor leaf = features.detach().requires_grad_(true);
  torch::Tensor logits, targets;
  if (straightforward_) {
    const RelationPairs pairs = make_pairs(leaf, K_, aggregation_);  // (P, 2D), (P)
    times.pairs += lap(t, cuda);
    logits = head_->forward(pairs.inputs);
    targets = pairs.targets;
  } else {
    logits = head_->forward_views(leaf, K_, aggregation_);
    targets = pair_index_for(leaf, K_).targets;
  }
  const torch::Tensor loss = relation_loss(logits, targets, loss_);
  times.head_forward += lap(t, cuda);

  loss.backward();  // head weights and d loss / d features
  times.head_backward += lap(t, cuda);
  features.backward(leaf.grad());  // through the backbone
  times.backbone_backward += lap(t, cuda);
  return {loss.detach(), logits.detach(), targets};
}

}  // namespace relnet
