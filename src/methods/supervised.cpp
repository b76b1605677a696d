// The supervised upper bound: a classifier on the labels.
#include "relnet/methods/supervised.h"

#include <spdlog/spdlog.h>

#include <cmath>
#include <set>
#include <stdexcept>

namespace relnet {

double supervised_lr(double base, int64_t epoch, int64_t epochs) {
  const std::set<int64_t> milestones = {static_cast<int64_t>(static_cast<double>(epochs) * 0.5),
                                        static_cast<int64_t>(static_cast<double>(epochs) * 0.75)};
  double lr = base;
  for (int64_t m : milestones) {
    if (epoch >= m) lr *= 0.1;
  }
  return lr;
}

SupervisedMethod::SupervisedMethod(const MethodContext& context) : Method(context) {
  const ImageDataset& data = *context.data;
  const Config& c = *context.config;
  const bool labelled = data.labels.defined() && data.labels.numel() == data.size() &&
                        data.num_classes >= 2 &&
                        (data.size() == 0 || data.labels.min().item<int64_t>() >= 0);
  if (!labelled) {
    throw std::invalid_argument("method.name \"supervised\" needs labels, and the " + data.name +
                                " split '" + c.data.split +
                                "' has none: train on a labelled split (data.split=train)");
  }
  classifier_ = torch::nn::Linear(context.backbone->feature_size(), data.num_classes);
  classifier_->to(context.device);
  labels_ = data.labels.to(context.device);
}

ViewRecipe SupervisedMethod::view_recipe() const {
  return {ViewKind::kCropFlip, crop_padding(config(), context().data->side())};
}

std::vector<std::pair<std::string, std::shared_ptr<torch::nn::Module>>> SupervisedMethod::modules()
    const {
  return {{"supervised_classifier", classifier_.ptr()}};
}

std::vector<MetricInfo> SupervisedMethod::metrics() const { return {{"accuracy", "acc"}}; }

std::unique_ptr<torch::optim::Optimizer> SupervisedMethod::make_optimizer(
    std::vector<torch::Tensor> params, double lr) const {
  return std::make_unique<torch::optim::SGD>(std::move(params),
                                             torch::optim::SGDOptions(lr).momentum(0.9));
}

void SupervisedMethod::start_epoch(int64_t epoch, int64_t epochs, bool resumed_mid_epoch,
                                   torch::optim::Optimizer& optimizer) {
  const double base = effective_lr(config(), *this);
  const double lr = supervised_lr(base, epoch, epochs);
  for (auto& group : optimizer.param_groups()) {
    if (group.options().get_lr() != lr) {
      spdlog::info("supervised: learning rate {:g} from epoch {}", lr, epoch + 1);
    }
    group.options().set_lr(lr);
  }
}

MethodOutput SupervisedMethod::loss(const std::vector<torch::Tensor>& encodings,
                                    const MethodBatch& batch, StepTimes* times, StepClock& clock) {
  const torch::Tensor& features = encodings.at(0);  // (B, D)
  const torch::Tensor targets = labels_.index_select(0, batch.indices.to(labels_.device()));
  torch::Tensor logits = classifier_->forward(features);  // (B, classes)
  if (logits.scalar_type() != torch::kFloat32) logits = logits.to(torch::kFloat32);
  return {torch::nn::functional::cross_entropy(logits, targets),
          batch_accuracy(logits.detach(), targets)};
}

}  // namespace relnet
