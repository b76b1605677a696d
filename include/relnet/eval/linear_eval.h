// Linear evaluation (the paper's protocol): freeze the backbone (eval mode,
// no gradients), train Linear(D -> classes) with Adam on the normalized,
// un-augmented train split, report train and test accuracy, per-class test
// accuracy and the confusion matrix.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

#include "relnet/eval/features.h"

namespace relnet {

// The features' source (checkpoint, dataset, subsets, device, random_init,
// seed: also the classifier's init and shuffling) and the classifier's
// training.
struct LinearEvalOptions : EvalSource {
  int64_t epochs = 100;
  int64_t batch_size = 128;
  double lr = 1e-3;
  /// Results JSON; empty = linear_eval.json (linear_eval_random_init.json
  /// with random_init) next to the checkpoint.
  std::string out;
  /// The trained classifier with its backbone (what `relnet test` takes);
  /// empty = linear.pt (linear_random_init.pt) next to the checkpoint.
  std::string classifier_out;
};

struct LinearEvalResult {
  nlohmann::json report;  // everything written to the results file
  double train_accuracy = 0;
  double test_accuracy = 0;
  std::string out_path;
  std::string classifier_path;  // linear.pt
};

// Runs the protocol; writes the results JSON and linear.pt ({"backbone",
// "classifier": {"weight", "bias"}, "meta"}: the checkpoint's meta plus a
// "linear_eval" entry with the dataset, root, normalization, classes and
// accuracies) atomically. Throws
// std::runtime_error / std::invalid_argument naming the checkpoint, dataset
// or key at fault (missing file, checkpoint of another network, ...).
LinearEvalResult linear_eval(const LinearEvalOptions& options);

// Trains Linear(D -> classes) on (features, labels) for `epochs` with Adam
// and cross-entropy, shuffling with a generator seeded by `seed`; returns it.
torch::nn::Linear train_linear_classifier(const torch::Tensor& features,
                                          const torch::Tensor& labels, int64_t classes,
                                          int64_t epochs, int64_t batch_size, double lr,
                                          int64_t seed, torch::Device device);

// classifier(features): the logits (N, classes) float on the CPU, no grad.
torch::Tensor classifier_scores(torch::nn::Linear& classifier, const torch::Tensor& features,
                                torch::Device device);

// argmax of classifier(features) per row: (N) int64 on the CPU, no grad.
torch::Tensor classifier_predictions(torch::nn::Linear& classifier, const torch::Tensor& features,
                                     torch::Device device);

// Share of rows whose argmax of classifier(features) equals the label.
double classifier_accuracy(torch::nn::Linear& classifier, const torch::Tensor& features,
                           const torch::Tensor& labels, torch::Device device);

}  // namespace relnet
