// Relation head (the reference's relation_module).
#include "relnet/relation/head.h"

#include <ATen/autocast_mode.h>

#include "relnet/relation/fused_head.h"

namespace relnet {

RelationHeadImpl::RelationHeadImpl(int64_t input_size, int64_t hidden) {
  // Names "0".."3" reproduce nn.Sequential's state-dict keys.
  fc1_ = register_module("0", torch::nn::Linear(input_size, hidden));
  bn_ = register_module("1", torch::nn::BatchNorm1d(hidden));
  act_ = register_module("2",
                         torch::nn::LeakyReLU(torch::nn::LeakyReLUOptions().negative_slope(0.01)));
  fc2_ = register_module("3", torch::nn::Linear(hidden, 1));
}

torch::Tensor RelationHeadImpl::forward(const torch::Tensor& x) {
  return fc2_->forward(act_->forward(bn_->forward(fc1_->forward(x)))).squeeze(1);
}

torch::Tensor RelationHeadImpl::forward_views(const torch::Tensor& features, int64_t K,
                                              Aggregation aggregation) {
  if (aggregation == Aggregation::kMax) return forward(make_pairs(features, K, aggregation).inputs);
  const PairIndex& index = pair_index_for(features, K);
  const int64_t D = features.size(1);
  const torch::Tensor& w = fc1_->weight;  // (H, in)
  const torch::Tensor& b = fc1_->bias;    // (H)
  // Per-view projections: hidden_p = left[l_p] + right[r_p].
  torch::Tensor left, right;  // (K*B, H)
  if (aggregation == Aggregation::kCat) {
    TORCH_CHECK(w.size(1) == 2 * D, "relation head expects ", w.size(1) / 2, "-wide features, got ",
                D);
    if (fused_ && view_projections_apply(features, w) && !at::autocast::is_cpu_enabled()) {
      std::tie(left, right) = view_projections(features, w, b);
    } else {
      left = torch::mm(features, w.narrow(1, 0, D).t());
      right = torch::addmm(b, features, w.narrow(1, D, D).t());
    }
  } else {
    TORCH_CHECK(w.size(1) == D, "relation head expects ", w.size(1), "-wide features, got ", D);
    left = torch::mm(features, w.t());
    if (aggregation == Aggregation::kMean) left = left * 0.5;
    right = left + b;
  }
  if (fused_ && is_training() && fused_pair_head_applies(left, right) &&
      !at::autocast::is_cpu_enabled()) {
    return fused_pair_head(left, right, index.left, index.right, *bn_, *fc2_,
                           act_->options.negative_slope());
  }
  const torch::Tensor hidden =  // (P, H)
      left.index_select(0, index.left) + right.index_select(0, index.right);
  return fc2_->forward(act_->forward(bn_->forward(hidden))).squeeze(1);
}

}  // namespace relnet
