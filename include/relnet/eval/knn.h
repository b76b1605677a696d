// Weighted k-nearest-neighbour classification on frozen features (the cheap
// evaluation of SSL libraries): L2-normalized features, cosine similarity,
// each of the k most similar train images votes for its class with weight
// exp(similarity / temperature), the class with the largest vote wins.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

#include "relnet/eval/features.h"

namespace relnet {

// The weighted votes of every query row for every class: (Q, classes)
// float on the CPU. train (N, D), train_labels (N) int64 in [0, classes),
// queries (Q, D); k is clamped to N. Queries are processed in chunks of
// `chunk` rows on `device` (memory: chunk x N floats). Throws
// std::invalid_argument for k < 1, temperature <= 0 or mismatched shapes.
torch::Tensor knn_scores(const torch::Tensor& train, const torch::Tensor& train_labels,
                         const torch::Tensor& queries, int64_t classes, int64_t k,
                         double temperature, torch::Device device = torch::kCPU,
                         int64_t chunk = 256);

// Predicted class of every query row: the argmax of knn_scores, (Q) int64.
torch::Tensor knn_predict(const torch::Tensor& train, const torch::Tensor& train_labels,
                          const torch::Tensor& queries, int64_t classes, int64_t k,
                          double temperature, torch::Device device = torch::kCPU,
                          int64_t chunk = 256);

struct KnnOptions : EvalSource {
  int64_t k = 200;
  double temperature = 0.1;
  /// Results JSON; empty = knn.json (knn_random_init.json) next to the checkpoint.
  std::string out;
};

struct KnnResult {
  nlohmann::json report;  // everything written to the results file
  double test_accuracy = 0;
  std::string out_path;
};

// Features of the train split (the neighbours) and the test split (the
// queries), then knn_predict; writes accuracy, per-class accuracy and the
// confusion matrix atomically. Throws like load_eval_data.
KnnResult knn_eval(const KnnOptions& options);

}  // namespace relnet
