// One training step of any method, shared by `relnet train` and `relnet
// bench`: views -> backbone -> the method's modules and loss -> gradients,
// with the time of each part measured.
//
// The backward pass runs in two stages that together equal loss.backward():
// first from the loss to the method's modules and to the backbone's outputs
// (detached leaf copies of them), then from those outputs through the
// backbone. That is what lets the step time be split between the method's
// modules and the backbone, and lets data parallelism average the modules'
// gradients while the backbone's backward pass runs, without changing any
// result.
#pragma once

#include <torch/torch.h>

#include <functional>
#include <utility>
#include <vector>

#include "relnet/methods/method.h"
#include "relnet/models/backbone.h"

namespace relnet {

struct StepOutput {
  torch::Tensor loss;     // scalar, detached
  torch::Tensor metrics;  // (M) float64, detached, in the method's metrics() order
};

class TrainStep {
 public:
  // `method` must outlive the step.
  TrainStep(Backbone backbone, Method& method);

  // Forward and backward for one batch; gradients land in zeroed .grad of
  // the backbone and of the method's modules. With `times`, adds each
  // part's seconds to it (on CUDA that synchronizes after every part);
  // without, nothing is timed.
  StepOutput forward_backward(const MethodBatch& batch, StepTimes* times = nullptr);

  // Called inside forward_backward once the method's module gradients are
  // final and before the backward pass through the backbone.
  void on_head_gradients_ready(std::function<void()> callback) {
    head_grads_ready_ = std::move(callback);
  }

  // bf16 mixed precision (train.precision): the forward passes of backbone
  // and method run under autocast; the backbone's outputs and the loss are
  // fp32, and so are the weights and their gradients.
  void set_bf16(bool bf16) { bf16_ = bf16; }

 private:
  Backbone backbone_;
  Method& method_;
  std::vector<torch::Tensor> params_;  // backbone's, then every module's
  std::function<void()> head_grads_ready_;
  bool bf16_ = false;
};

// The parameters (or buffers) of the backbone followed by every module of
// the method, in modules() order: the optimizer's order, the checkpoint's.
std::vector<torch::Tensor> method_parameters(const Backbone& backbone, const Method& method);
std::vector<torch::Tensor> module_parameters(const Method& method);
std::vector<torch::Tensor> method_buffers(const Backbone& backbone, const Method& method);

}  // namespace relnet
