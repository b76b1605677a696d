// Self-supervised relational reasoning (Patacchiola & Storkey, 2020): K
// views of each image, every pair of views scored by the relation head
// (positives: two views of one image; negatives: views of two images), BCE
// or focal loss. Its module is the relation head, saved as "relation".
#pragma once

#include "relnet/methods/method.h"
#include "relnet/relation/head.h"
#include "relnet/relation/loss.h"
#include "relnet/relation/pairs.h"

namespace relnet {

class RelationalMethod : public Method {
 public:
  // K = augment.K views per image; the head, aggregation, loss and fused
  // kernels from the model section.
  explicit RelationalMethod(const MethodContext& context);

  std::string name() const override { return "relational"; }
  int64_t views_per_image() const override { return K_; }
  ViewRecipe view_recipe() const override { return {}; }
  std::vector<std::pair<std::string, std::shared_ptr<torch::nn::Module>>> modules() const override;
  // accuracy (all pairs), accuracy_positive, accuracy_negative.
  std::vector<MetricInfo> metrics() const override;

  // features: (K*B, D) view-major. Every view is projected once by the
  // head's first layer (RelationHeadImpl::forward_views), or, with
  // model.pairs_matrix, the (P, 2D) pairs matrix is built as the paper's code
  // does (timed in the pairs slot). Both give the same loss and gradients.
  MethodOutput loss(const std::vector<torch::Tensor>& encodings, const MethodBatch& batch,
                    StepTimes* times, StepClock& clock) override;

  RelationHead head() const { return head_; }

 private:
  int64_t K_;
  Aggregation aggregation_;
  LossOptions loss_;
  bool pairs_matrix_;
  RelationHead head_{nullptr};
};

}  // namespace relnet
