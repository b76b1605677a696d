// The supervised upper bound as the reference runs it: Linear(D, classes) on
// the labels with cross-entropy, SGD (lr 0.1, momentum 0.9), the learning
// rate x0.1 from 50% and again from 75% of the epochs, crop and flip. Its
// module is that classifier, saved as "supervised_classifier".
#pragma once

#include "relnet/methods/method.h"

namespace relnet {

// The learning rate of 0-based `epoch` of `epochs`: `base` x 0.1 for each
// distinct milestone int(epochs * 0.5), int(epochs * 0.75) reached (the
// reference's schedule).
double supervised_lr(double base, int64_t epoch, int64_t epochs);

class SupervisedMethod : public Method {
 public:
  // Throws std::invalid_argument when the training split has no labels
  // (STL-10's unlabeled split, fewer than 2 classes).
  explicit SupervisedMethod(const MethodContext& context);
  std::string name() const override { return "supervised"; }
  int64_t views_per_image() const override { return 1; }
  ViewRecipe view_recipe() const override;  // crop with padding, flip
  std::vector<std::pair<std::string, std::shared_ptr<torch::nn::Module>>> modules() const override;
  std::vector<MetricInfo> metrics() const override;  // training accuracy
  double default_lr() const override { return 0.1; }
  // SGD with momentum 0.9, no weight decay.
  std::unique_ptr<torch::optim::Optimizer> make_optimizer(std::vector<torch::Tensor> params,
                                                          double lr) const override;
  // Sets the scheduled learning rate.
  void start_epoch(int64_t epoch, int64_t epochs, bool resumed_mid_epoch,
                   torch::optim::Optimizer& optimizer) override;
  MethodOutput loss(const std::vector<torch::Tensor>& encodings, const MethodBatch& batch,
                    StepTimes* times, StepClock& clock) override;

 private:
  torch::nn::Linear classifier_{nullptr};
  torch::Tensor labels_;  // (N) int64 on the device
};

}  // namespace relnet
