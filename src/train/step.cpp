// The self-supervised step with per-part timing.
#include "relnet/train/step.h"
#include "relnet/util/runtime.h"

#include <torch/cuda.h>

#include <chrono>

namespace relnet {
namespace {

using Clock = std::chrono::steady_clock;

// Adds the seconds since `t` to `slot` (then t = now); nothing without a
// slot. On CUDA, waits for queued kernels first so the time belongs to the
// part that queued them: only when timing was asked for, since that wait
// stalls the pipeline.
void lap(Clock::time_point& t, bool cuda, double* slot) {
  if (!slot) return;
  if (cuda) torch::cuda::synchronize();
  const auto now = Clock::now();
  *slot += std::chrono::duration<double>(now - t).count();
  t = now;
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

StepOutput RelationStep::forward_backward(const torch::Tensor& views, StepTimes* times) {
  const bool cuda = views.is_cuda();
  auto t = Clock::now();
  for (auto& p : backbone_->parameters()) p.mutable_grad() = torch::Tensor();
  for (auto& p : head_->parameters()) p.mutable_grad() = torch::Tensor();
  torch::Tensor features;
  {
    AutocastGuard autocast(views.device(), bf16_);
    features = backbone_->forward(views);  // (K*B, D)
  }
  if (features.scalar_type() != torch::kFloat32) features = features.to(torch::kFloat32);
  lap(t, cuda, times ? &times->backbone_forward : nullptr);

  // The head works on a leaf copy of the features, so its backward stops there.
  const torch::Tensor leaf = features.detach().requires_grad_(true);
  torch::Tensor logits, targets;
  {
    AutocastGuard autocast(views.device(), bf16_);
    if (straightforward_) {
      const RelationPairs pairs = make_pairs(leaf, K_, aggregation_);  // (P, 2D), (P)
      lap(t, cuda, times ? &times->pairs : nullptr);
      logits = head_->forward(pairs.inputs);
      targets = pairs.targets;
    } else {
      logits = head_->forward_views(leaf, K_, aggregation_);
      targets = pair_index_for(leaf, K_).targets;
    }
  }
  if (logits.scalar_type() != torch::kFloat32) logits = logits.to(torch::kFloat32);
  const torch::Tensor loss = relation_loss(logits, targets, loss_);
  lap(t, cuda, times ? &times->head_forward : nullptr);

  loss.backward();  // head weights and d loss / d features
  lap(t, cuda, times ? &times->head_backward : nullptr);
  if (head_grads_ready_) head_grads_ready_();  // e.g. start reducing them while the backbone runs
  features.backward(leaf.grad());  // through the backbone
  lap(t, cuda, times ? &times->backbone_backward : nullptr);
  return {loss.detach(), logits.detach(), targets};
}

}  // namespace relnet
