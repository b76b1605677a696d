// Memory a training step needs, known before the first step: weights,
// gradients and optimizer state counted from the model, the backbone's
// activations measured on a tiny probe batch and scaled to the step's
// inputs, the method's own step tensors (relational reasoning's pairs,
// SimCLR's similarity matrix) counted from K, B and the head's width, and
// the augmented batch. Compared with the memory available (RAM: the smaller
// of /proc/meminfo's MemAvailable and the cgroup's limit; CUDA: the device's
// free memory), so `relnet train` can refuse a configuration that would run
// out, naming the knobs to turn.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <string>

namespace relnet {

// What one step holds at its peak, in bytes.
struct StepMemory {
  int64_t weights = 0;      // parameters of the backbone and the method's modules
  int64_t gradients = 0;    // one per parameter
  int64_t optimizer = 0;    // Adam: two per parameter; SGD with momentum: one
  int64_t activations = 0;  // the backbone's, forward and backward, for every input
  int64_t method = 0;       // the method's step tensors beside the backbone (pairs, ...)
  int64_t batch = 0;        // the augmented views (and the batches prepared ahead)
  int64_t total() const { return weights + gradients + optimizer + activations + method + batch; }
};

// Everything the estimate depends on.
struct StepShape {
  std::string backbone;  // registry name (models/backbone.h)
  bool fused = true;     // model.fused
  torch::Device device = torch::kCPU;
  std::string method;         // method.name
  int64_t views = 1;          // views per image (K for relational reasoning)
  int64_t inputs = 1;         // backbone inputs per image (RotationNet: 4 per view)
  int64_t batch_size = 2;     // B
  int64_t side = 32;          // image side the views have
  int64_t feature_size = 64;  // D
  int64_t head_hidden = 256;  // the relation head's hidden width
  bool pairs_matrix = false;  // model.pairs_matrix (the (P, 2D) matrix)
  int64_t parameters = 0;     // of the backbone and the method's modules
  int64_t optimizer_slots = 2;
  int64_t prefetch = 0;  // batches prepared ahead by augmentation workers
};

// The backbone's forward and backward bytes on `device` for inputs of
// `side`: {fixed, per input}, measured by running a fresh copy of the
// backbone (training mode) on 2 and on 4 inputs and recording every tensor
// allocation (LibTorch's memory reporting). LibTorch's default generator
// is left as it was.
std::pair<int64_t, int64_t> backbone_step_bytes(const std::string& backbone, bool fused,
                                                torch::Device device, int64_t side);

// The estimate for `shape` (measures the backbone once, as above; the
// activations of LibTorch's modules are scaled by the heap's measured
// overhead over the bytes live at their peak, 1.4, those of relnet's fused
// Conv4 kernels are not).
StepMemory estimate_step_memory(const StepShape& shape);

// Memory available to this process on `device`, in bytes, and where the
// figure comes from ("MemAvailable", "the cgroup limit", "free CUDA
// memory"); bytes < 0 when it cannot be told.
struct AvailableMemory {
  int64_t bytes = -1;
  std::string source;
};
AvailableMemory available_memory(torch::Device device);

// "" when `need` bytes fit in `available`, else the one-line refusal: the
// estimate and its parts, what is available, and the knobs to turn (the
// batch size, K and the image side of `shape`), and --force.
std::string memory_refusal(const StepMemory& need, int64_t processes,
                           const AvailableMemory& available, const StepShape& shape);

// This process's resident memory now (VmRSS), in bytes; -1 when unknown.
int64_t resident_bytes();

// "1.5 GiB", "300 MiB": a size for messages.
std::string format_bytes(int64_t bytes);

}  // namespace relnet
