// The accuracy figures every classification report shares (linear-eval,
// knn, finetune, test, and the training monitors): top-1 and top-5 accuracy
// from per-class scores, mean per-class accuracy, per-class accuracy and the
// confusion matrix.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace relnet {

// Share of rows whose label is among the row's k highest scores. scores
// (N, C) float, labels (N) int64 in [0, C); k is clamped to C. Ties among
// equal scores are broken by torch::topk. 0 for N = 0. Throws
// std::invalid_argument for k < 1 or mismatched shapes.
double topk_accuracy(const torch::Tensor& scores, const torch::Tensor& labels, int64_t k);

// Per-class accuracy (classes entries, NaN-free: 0 for a class absent from
// `labels`), mean_per_class_accuracy (the mean over the classes present in
// `labels`) and the confusion matrix (classes x classes, rows = true class).
// predicted and labels (N) int64 in [0, classes).
nlohmann::json per_class_report(const torch::Tensor& predicted, const torch::Tensor& labels,
                                int64_t classes, const std::vector<std::string>& class_names);

// The report of a classifier's scores (N, classes) on labelled rows (N):
// "<split>_accuracy" (top-1: the argmax, as the confusion matrix counts it),
// "<split>_top5_accuracy" (only when there are more than 5 classes), then per_class_report of the
// argmax predictions.
nlohmann::json classification_report(const torch::Tensor& scores, const torch::Tensor& labels,
                                     int64_t classes, const std::vector<std::string>& class_names,
                                     const std::string& split = "test");

// "test accuracy 0.8123, top-5 0.9901, mean per-class 0.8120" from a
// classification_report (top-5 only where the report has it).
std::string accuracy_summary(const nlohmann::json& report, const std::string& split = "test");

}  // namespace relnet
