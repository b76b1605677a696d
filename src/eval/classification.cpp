// Top-k, per-class and mean per-class accuracy of classification scores.
#include "relnet/eval/classification.h"

#include <cstdio>
#include <stdexcept>

namespace relnet {

using nlohmann::json;

double topk_accuracy(const torch::Tensor& scores, const torch::Tensor& labels, int64_t k) {
  if (scores.dim() != 2 || labels.dim() != 1 || scores.size(0) != labels.size(0)) {
    throw std::invalid_argument("topk_accuracy: scores must be (N, C) and labels (N), got " +
                                c10::str(scores.sizes()) + " and " + c10::str(labels.sizes()));
  }
  if (k < 1) throw std::invalid_argument("topk_accuracy: k must be >= 1, got " + std::to_string(k));
  if (scores.size(0) == 0) return 0.0;
  torch::NoGradGuard no_grad;
  const auto top = std::get<1>(scores.topk(std::min(k, scores.size(1)), /*dim=*/1));    // (N, k)
  const auto hit = top.eq(labels.to(top.device(), torch::kInt64).unsqueeze(1)).any(1);  // (N)
  return hit.to(torch::kFloat64).mean().item<double>();
}

json per_class_report(const torch::Tensor& predicted, const torch::Tensor& labels, int64_t classes,
                      const std::vector<std::string>& class_names) {
  if (predicted.sizes() != labels.sizes()) {
    throw std::invalid_argument("per_class_report: predictions and labels differ in shape");
  }
  std::vector<std::vector<int64_t>> confusion(
      static_cast<size_t>(classes), std::vector<int64_t>(static_cast<size_t>(classes), 0));
  const auto p = predicted.to(torch::kCPU, torch::kInt64).contiguous();
  const auto l = labels.to(torch::kCPU, torch::kInt64).contiguous();
  const int64_t* pp = p.data_ptr<int64_t>();
  const int64_t* lp = l.data_ptr<int64_t>();
  for (int64_t i = 0; i < p.numel(); ++i) {
    if (lp[i] < 0 || lp[i] >= classes || pp[i] < 0 || pp[i] >= classes) {
      throw std::invalid_argument("per_class_report: label or prediction out of range [0, " +
                                  std::to_string(classes) + ") at row " + std::to_string(i));
    }
    ++confusion[static_cast<size_t>(lp[i])][static_cast<size_t>(pp[i])];
  }
  json per_class = json::array();
  double accuracy_sum = 0;
  int64_t present = 0;
  for (int64_t c = 0; c < classes; ++c) {
    int64_t total = 0;
    for (const int64_t v : confusion[static_cast<size_t>(c)]) total += v;
    const int64_t right = confusion[static_cast<size_t>(c)][static_cast<size_t>(c)];
    const double accuracy =
        total > 0 ? static_cast<double>(right) / static_cast<double>(total) : 0.0;
    if (total > 0) {
      accuracy_sum += accuracy;
      ++present;
    }
    per_class.push_back(json{
        {"class", c < static_cast<int64_t>(class_names.size()) ? class_names[static_cast<size_t>(c)]
                                                               : std::to_string(c)},
        {"images", total},
        {"accuracy", accuracy}});
  }
  return json{
      {"mean_per_class_accuracy", present > 0 ? accuracy_sum / static_cast<double>(present) : 0.0},
      {"per_class_accuracy", per_class},
      {"confusion_matrix", confusion}};
}

json classification_report(const torch::Tensor& scores, const torch::Tensor& labels,
                           int64_t classes, const std::vector<std::string>& class_names,
                           const std::string& split) {
  if (scores.dim() != 2 || scores.size(1) != classes) {
    throw std::invalid_argument("classification_report: scores must be (N, " +
                                std::to_string(classes) + "), got " + c10::str(scores.sizes()));
  }
  // Top-1 from argmax, as the confusion matrix counts it.
  const torch::Tensor predicted =
      (scores.size(0) > 0 ? scores.argmax(1) : torch::empty({0}, torch::kInt64)).to(torch::kCPU);
  const torch::Tensor hits = predicted.eq(labels.to(torch::kCPU, torch::kInt64));
  json report{{split + "_accuracy",
               hits.numel() > 0 ? hits.to(torch::kFloat64).mean().item<double>() : 0.0}};
  if (classes > 5) report[split + "_top5_accuracy"] = topk_accuracy(scores, labels, 5);
  report.update(per_class_report(predicted, labels, classes, class_names));
  return report;
}

std::string accuracy_summary(const json& report, const std::string& split) {
  char buf[128];
  std::snprintf(buf, sizeof buf, "%s accuracy %.4f", split.c_str(),
                report.value(split + "_accuracy", 0.0));
  std::string out = buf;
  if (report.contains(split + "_top5_accuracy")) {
    std::snprintf(buf, sizeof buf, ", top-5 %.4f", report[split + "_top5_accuracy"].get<double>());
    out += buf;
  }
  if (report.contains("mean_per_class_accuracy")) {
    std::snprintf(buf, sizeof buf, ", mean per-class %.4f",
                  report["mean_per_class_accuracy"].get<double>());
    out += buf;
  }
  return out;
}

}  // namespace relnet
