// `relnet bench`: the training step end to end (augmentation on worker
// threads + model step), or linear evaluation, on generated or real data,
// with the time of each part and peak memory. Numbers for docs/PERFORMANCE.md
// and for choosing K, batch and threads on a machine.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

namespace relnet {

struct BenchOptions {
  std::string method = "relational";  // methods/method.h
  std::string backbone = "conv4";
  std::string aggregation = "cat";
  int64_t K = 32;  // relational reasoning's views per image
  int64_t batch = 64;
  int64_t steps = 10;   // measured steps
  int64_t warmup = 2;   // steps run before measuring
  int64_t threads = 0;  // intra-op threads, 0 = all cores
  int64_t workers = 0;  // augmentation threads, 0 = cores - 1 (at least 1)
  int64_t side = 32;    // side of generated images
  std::string dataset;  // empty = generated CIFAR-shaped noise images
  std::string data_root = "data";
  std::string device = "cpu";
  // Build the pairs matrix and feed it to the head, as the paper's code does.
  bool straightforward = false;
  // relnet's fused kernels (model.fused); false = LibTorch's modules.
  bool fused = true;
  std::string precision = "fp32";  // fp32 | bf16 (autocast of the forward passes)
  // Linear evaluation instead of training: features once, then the classifier.
  bool linear_eval = false;
  int64_t epochs = 100;
  int64_t train_images = 50000;
  int64_t test_images = 10000;
};

// Runs the benchmark and returns its report: for training, augmented
// images/s and median seconds per step (both over the measured steps, data
// wait included), the median split (data_wait, backbone_forward, pairs,
// head_forward, head_backward, backbone_backward, optimizer), peak resident
// memory (MB), loss, and the settings; for linear evaluation, seconds for the
// features, for the classifier's epochs and in all, plus test accuracy.
nlohmann::json run_bench(const BenchOptions& options);

// Peak resident set size of this process so far, in MB.
double peak_rss_mb();

// The human-readable lines of a report.
std::string format_bench(const nlohmann::json& report);

}  // namespace relnet
