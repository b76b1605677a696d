// Relation head: Linear(in -> hidden), BatchNorm1d(hidden), LeakyReLU(0.01),
// Linear(hidden -> 1). State-dict keys 0.*, 1.*, 3.* as the reference's
// nn.Sequential; 33,793 parameters for cat over D=64 with hidden 256.
#pragma once

#include <torch/torch.h>

#include "relnet/relation/pairs.h"

namespace relnet {

class RelationHeadImpl : public torch::nn::Module {
 public:
  RelationHeadImpl(int64_t input_size, int64_t hidden = 256);
  // x: (P, input_size) -> logits (P).
  torch::Tensor forward(const torch::Tensor& x);

  // The logits of every relation pair of view-major features (K*B, D),
  // equal (within float rounding) to forward(make_pairs(features, K,
  // aggregation).inputs) but computed without the pairs matrix where the
  // aggregation is linear: the first Linear acting on [f_i, f_j] is
  // W_a f_i + W_b f_j (cat; W f_i + W f_j for sum, half that for mean), so
  // every view is projected once (K*B rows, not K(K-1)B) and the two
  // projections of each pair are added. `max` takes the straightforward path.
  // With fused() (the default) on CPU in float32, outside autocast, cat's
  // two projections are split by rows over the threads (relation/
  // fused_head.h: view_projections) in training and evaluation alike; while
  // training, the pairs' BatchNorm -> LeakyReLU -> Linear also runs as one
  // kernel that never stores the (P, hidden) matrix (fused_pair_head).
  torch::Tensor forward_views(const torch::Tensor& features, int64_t K, Aggregation aggregation);

  // relnet's fused kernel in forward_views, or LibTorch's modules: the same
  // results within float rounding. On by default.
  void set_fused(bool on) { fused_ = on; }
  bool fused() const { return fused_; }

 private:
  torch::nn::Linear fc1_{nullptr};
  torch::nn::BatchNorm1d bn_{nullptr};
  torch::nn::LeakyReLU act_{nullptr};
  torch::nn::Linear fc2_{nullptr};
  bool fused_ = true;
};
TORCH_MODULE(RelationHead);

}  // namespace relnet
