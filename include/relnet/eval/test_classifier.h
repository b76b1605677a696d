// `relnet test`: evaluates a saved classifier (linear.pt from linear-eval:
// backbone + Linear(D, classes)) on a test split, without training anything.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "relnet/eval/features.h"

namespace relnet {

// The features' source; the defaults (dataset, root, normalization) are those
// the classifier was trained on. train_subset and random_init do not apply.
struct TestOptions : EvalSource {
  /// Results JSON; empty = test.json next to the checkpoint.
  std::string out;
};

struct TestResult {
  nlohmann::json report;  // test accuracy, per-class accuracy, confusion matrix, ...
  double test_accuracy = 0;
  std::string out_path;
};

// Throws std::runtime_error naming the file when it holds no classifier (a
// backbone.pt), when the classifier does not fit the backbone's features or
// the dataset's classes, and like load_eval_data otherwise.
TestResult test_classifier(const TestOptions& options);

}  // namespace relnet
