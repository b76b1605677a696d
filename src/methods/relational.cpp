// Relational reasoning behind the method interface.
#include "relnet/methods/relational.h"

namespace relnet {

RelationalMethod::RelationalMethod(const MethodContext& context)
    : Method(context),
      K_(context.config->augment.K),
      aggregation_(parse_aggregation(context.config->model.aggregation)),
      loss_{parse_loss(context.config->model.loss), context.config->model.focal_gamma,
            context.config->model.focal_alpha},
      pairs_matrix_(context.config->model.pairs_matrix) {
  const ModelConfig& m = context.config->model;
  head_ =
      RelationHead(aggregated_size(aggregation_, context.backbone->feature_size()), m.head_hidden);
  head_->set_fused(m.fused);
  head_->to(context.device);
}

std::vector<std::pair<std::string, std::shared_ptr<torch::nn::Module>>> RelationalMethod::modules()
    const {
  return {{"relation", head_.ptr()}};
}

std::vector<MetricInfo> RelationalMethod::metrics() const {
  return {{"accuracy", "acc"}, {"accuracy_positive", "pos"}, {"accuracy_negative", "neg"}};
}

MethodOutput RelationalMethod::loss(const std::vector<torch::Tensor>& encodings,
                                    const MethodBatch& batch, StepTimes* times, StepClock& clock) {
  const torch::Tensor& features = encodings.at(0);  // (K*B, D)
  torch::Tensor logits, targets;
  if (pairs_matrix_) {
    const RelationPairs pairs = make_pairs(features, K_, aggregation_);  // (P, 2D), (P)
    clock.lap(times ? &times->pairs : nullptr);
    logits = head_->forward(pairs.inputs);
    targets = pairs.targets;
  } else {
    logits = head_->forward_views(features, K_, aggregation_);  // (P)
    targets = pair_index_for(features, K_).targets;
  }
  if (logits.scalar_type() != torch::kFloat32) logits = logits.to(torch::kFloat32);
  const torch::Tensor loss = relation_loss(logits, targets, loss_);
  return {loss, pair_accuracies(logits.detach(), targets)};
}

}  // namespace relnet
