// One self-supervised step, shared by `relnet train` and `relnet bench`:
// views -> backbone -> relation head over all pairs -> loss -> gradients,
// with the time of each part measured.
//
// The backward pass runs in two stages that together equal loss.backward():
// first from the loss to the head's weights and to the features, then from
// the features through the backbone. That is what lets the step time be
// split between head and backbone without changing any result.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <functional>
#include <utility>

#include "relnet/models/backbone.h"
#include "relnet/relation/head.h"
#include "relnet/relation/loss.h"
#include "relnet/relation/pairs.h"

namespace relnet {

// Seconds spent in each part of a step.
struct StepTimes {
  double backbone_forward = 0;
  double pairs = 0;          // building the pairs matrix (straightforward path only)
  double head_forward = 0;   // head and loss
  double head_backward = 0;
  double backbone_backward = 0;
  double optimizer = 0;
  double total() const {
    return backbone_forward + pairs + head_forward + head_backward + backbone_backward + optimizer;
  }
};

struct StepOutput {
  torch::Tensor loss;     // scalar
  torch::Tensor logits;   // (P), detached
  torch::Tensor targets;  // (P)
};

class RelationStep {
 public:
  // `straightforward` builds the (P, 2D) pairs matrix and feeds it to the
  // head as the paper's code does; otherwise every view is projected once
  // (RelationHeadImpl::forward_views). Both give the same loss and gradients.
  RelationStep(Backbone backbone, RelationHead head, int64_t K, Aggregation aggregation,
               LossOptions loss, bool straightforward = false);

  // Forward and backward for view-major views (K*B, 3, H, W); gradients are
  // accumulated into zeroed .grad of backbone and head. With `times`, adds
  // each part's seconds to it (on CUDA that synchronizes after every part);
  // without, nothing is timed.
  StepOutput forward_backward(const torch::Tensor& views, StepTimes* times = nullptr);

  // Called inside forward_backward once the head's gradients are final and
  // before the backward pass through the backbone: data-parallel training
  // starts averaging the head's gradients there, overlapping the backbone's
  // backward pass.
  void on_head_gradients_ready(std::function<void()> callback) {
    head_grads_ready_ = std::move(callback);
  }

  // bf16 mixed precision (train.precision): the forward passes of backbone
  // and head run under autocast; features, logits and loss are fp32, and so
  // are the weights and their gradients.
  void set_bf16(bool bf16) { bf16_ = bf16; }

 private:
  Backbone backbone_;
  RelationHead head_;
  int64_t K_;
  Aggregation aggregation_;
  LossOptions loss_;
  bool straightforward_;
  std::function<void()> head_grads_ready_;
  bool bf16_ = false;
};

}  // namespace relnet
