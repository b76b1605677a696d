// The one interface every self-supervised (or supervised) training method
// implements, and the factory that builds the method a config names. The
// trainer, `relnet bench` and data parallelism see a method only through it:
// how many views of an image a step needs and how they are drawn, the
// modules it trains beside the backbone (saved under their own keys), the
// optimizer, the loss and metrics of one batch, and a hook at the start of
// every epoch.
#pragma once

#include <torch/torch.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "relnet/augment/pipeline.h"
#include "relnet/config.h"
#include "relnet/data/dataset.h"
#include "relnet/models/backbone.h"

namespace relnet {

// Seconds spent in each part of a step.
struct StepTimes {
  double backbone_forward = 0;
  double pairs = 0;         // relational reasoning's pairs matrix (model.pairs_matrix only)
  double head_forward = 0;  // the method's modules and loss
  double head_backward = 0;
  double backbone_backward = 0;
  double optimizer = 0;
  double total() const {
    return backbone_forward + pairs + head_forward + head_backward + backbone_backward + optimizer;
  }
};

// Splits a step's wall time into StepTimes slots. lap(slot) adds the seconds
// since the last lap to *slot; a null slot (or an untimed clock) does
// nothing. On CUDA it first waits for queued kernels, so the time belongs to
// the part that queued them: only when timing was asked for.
class StepClock {
 public:
  StepClock(bool timed, bool cuda);
  void lap(double* slot);
  bool timed() const { return timed_; }

 private:
  bool timed_, cuda_;
  std::chrono::steady_clock::time_point last_;
};

// One step's images as the method receives them.
struct MethodBatch {
  torch::Tensor
      views;  // (V*B, 3, S, S) float32 on the device, view-major: row v*B + b is view v of image b
  torch::Tensor indices;  // (B) int64 dataset indices of the images (CPU)
  int64_t epoch = 0;      // 0-based epoch and batch index within it: a seed
  int64_t step = 0;       // for anything random a method draws per step
};

// What a method's loss returns.
struct MethodOutput {
  torch::Tensor loss;     // scalar float32, differentiable w.r.t. the encodings and the modules
  torch::Tensor metrics;  // (M) float64 on the device, detached, in Method::metrics() order
};

// A per-step metric: its key in metrics.jsonl (keys starting with
// "accuracy" are drawn in curves.png's accuracy panel, "loss_*" in its loss
// panel) and its short label in log lines.
struct MetricInfo {
  std::string key;
  std::string label;
};

// What a method may read while it is built and while it trains.
struct MethodContext {
  const Config* config = nullptr;
  const ImageDataset* data = nullptr;  // the training split: labels, and images for DeepCluster
  Normalization normalization;
  torch::Device device = torch::kCPU;
  Backbone backbone;  // on `device`
};

class Method {
 public:
  virtual ~Method() = default;

  // The config's method.name ("relational", "simclr", ...).
  virtual std::string name() const = 0;
  // Views of each image a step needs, and how each is drawn.
  virtual int64_t views_per_image() const = 0;
  virtual ViewRecipe view_recipe() const = 0;
  // Backbone inputs per image of a step (throughput): views_per_image(), or
  // more where the method makes its own (RotationNet: 4).
  virtual int64_t inputs_per_image() const { return views_per_image(); }

  // Modules trained beside the backbone, each saved under its key in
  // checkpoint.pt; on the context's device after construction.
  virtual std::vector<std::pair<std::string, std::shared_ptr<torch::nn::Module>>> modules()
      const = 0;
  // The step's metrics besides the loss, in MethodOutput::metrics order.
  virtual std::vector<MetricInfo> metrics() const = 0;

  // The learning rate when train.lr is 0.
  virtual double default_lr() const { return 1e-3; }
  // The optimizer over `params` (the backbone's, then every module's, in
  // modules() order): Adam by default.
  virtual std::unique_ptr<torch::optim::Optimizer> make_optimizer(std::vector<torch::Tensor> params,
                                                                  double lr) const;

  // Called before the first step of `epoch` (0-based, of `epochs`), also
  // when a run resumes at the start of an epoch; `resumed_mid_epoch` when it
  // resumes inside one (the epoch's own state then came from the checkpoint).
  // May change the optimizer's learning rate (a schedule) or the modules.
  virtual void start_epoch(int64_t epoch, int64_t epochs, bool resumed_mid_epoch,
                           torch::optim::Optimizer& optimizer) {}

  // The backbone's outputs the loss needs, with their graph: {features
  // (N, D)} by default. The step hands detached leaf copies to loss() and
  // sends their gradients back through these.
  virtual std::vector<torch::Tensor> encode(const MethodBatch& batch);

  // Loss and metrics of one batch from the leaf copies of encode()'s
  // outputs. May lap `clock` into the pairs slot for a part of its own.
  virtual MethodOutput loss(const std::vector<torch::Tensor>& encodings, const MethodBatch& batch,
                            StepTimes* times, StepClock& clock) = 0;

 protected:
  explicit Method(const MethodContext& context) : context_(context) {}
  const Config& config() const { return *context_.config; }
  const MethodContext& context() const { return context_; }
  Backbone backbone() const { return context_.backbone; }

 private:
  MethodContext context_;
};

// Builds the method config.method.name (one of known_methods(), config.h) with its modules on the
// context's device (seed LibTorch's generator first: modules draw their initial weights from it).
// Throws std::invalid_argument naming the key when the method cannot train on this data (supervised
// without labels).
std::unique_ptr<Method> make_method(const MethodContext& context);

// The learning rate a run uses: train.lr, or the method's default when 0.
double effective_lr(const Config& config, const Method& method);

// The RandomCrop padding of the crop-and-flip recipe: method.crop_padding,
// or default_crop_padding(side) when it is -1.
int64_t crop_padding(const Config& config, int64_t side);

// Accuracy of `logits` (N, C) against `targets` (N) as a (1) float64 tensor
// on their device, without a host synchronisation.
torch::Tensor batch_accuracy(const torch::Tensor& logits, const torch::Tensor& targets);

}  // namespace relnet
