// Linear evaluation (the paper's protocol): freeze the backbone (eval mode,
// no gradients), train Linear(D -> classes) with Adam on the normalized,
// un-augmented train split, report train and test accuracy.
#pragma once

#include <torch/torch.h>

#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>

#include "relnet/data/dataset.h"
#include "relnet/models/backbone.h"

namespace relnet {

struct LinearEvalOptions {
  /// backbone.pt (or checkpoint.pt) to evaluate.
  std::string checkpoint;
  /// Dataset and root; empty = those recorded in the checkpoint.
  std::string dataset;
  std::string data_root;
  /// First N images of each split (0 = all).
  int64_t train_subset = 0;
  int64_t test_subset = 0;
  int64_t epochs = 100;
  int64_t batch_size = 128;
  double lr = 1e-3;
  int64_t seed = 1;
  std::string device = "auto";
  int64_t threads = 0;
  /// Evaluate the same architecture with fresh random weights (lower bound).
  bool random_init = false;
  /// Results JSON; empty = linear_eval.json (linear_eval_random_init.json
  /// with random_init) next to the checkpoint.
  std::string out;
};

struct LinearEvalResult {
  nlohmann::json report;   // everything written to the results file
  double train_accuracy = 0;
  double test_accuracy = 0;
  std::string out_path;
};

// Runs the protocol; writes the results JSON atomically. Throws
// std::runtime_error / std::invalid_argument naming the checkpoint, dataset
// or key at fault (missing file, checkpoint of another network, ...).
LinearEvalResult linear_eval(const LinearEvalOptions& options);

// Frozen features of `images` ((N, 3, H, W) uint8): normalized, forwarded in
// eval mode under no-grad, in batches of `batch_size`, on `device`.
// Returns (N, D) float on the CPU.
torch::Tensor extract_features(BackboneImpl& backbone, const torch::Tensor& images,
                               const Normalization& norm, torch::Device device,
                               int64_t batch_size = 512);

// Trains Linear(D -> classes) on (features, labels) for `epochs` with Adam
// and cross-entropy, shuffling with a generator seeded by `seed`; returns it.
torch::nn::Linear train_linear_classifier(const torch::Tensor& features, const torch::Tensor& labels,
                                          int64_t classes, int64_t epochs, int64_t batch_size,
                                          double lr, int64_t seed, torch::Device device);

// Share of rows whose argmax of classifier(features) equals the label.
double classifier_accuracy(torch::nn::Linear& classifier, const torch::Tensor& features,
                           const torch::Tensor& labels, torch::Device device);

}  // namespace relnet
