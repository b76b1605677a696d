// Linear evaluation of a frozen backbone.
#include "relnet/eval/linear_eval.h"

#include <spdlog/fmt/fmt.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <stdexcept>

#include "relnet/eval/classification.h"
#include "relnet/util/fs.h"
#include "relnet/util/logging.h"
#include "relnet/util/progress.h"
#include "relnet/util/rng.h"
#include "relnet/util/runtime.h"

namespace relnet {
namespace {

using nlohmann::json;

double seconds_since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

}  // namespace

torch::nn::Linear train_linear_classifier(const torch::Tensor& features,
                                          const torch::Tensor& labels, int64_t classes,
                                          int64_t epochs, int64_t batch_size, double lr,
                                          int64_t seed, torch::Device device) {
  torch::manual_seed(static_cast<uint64_t>(seed));
  torch::nn::Linear classifier(features.size(1), classes);
  classifier->to(device);
  torch::optim::Adam optimizer(classifier->parameters(), torch::optim::AdamOptions(lr));
  const auto x_all = features.to(device);
  const auto y_all = labels.to(device);
  const int64_t n = features.size(0);
  ProgressBar bar("linear eval", epochs);
  const auto t0 = std::chrono::steady_clock::now();
  for (int64_t epoch = 0; epoch < epochs; ++epoch) {
    // Seeded shuffle: the same seed gives the same classifier.
    std::vector<int64_t> order(static_cast<size_t>(n));
    for (int64_t i = 0; i < n; ++i) order[i] = i;
    Rng rng(derive_seed({static_cast<uint64_t>(seed), static_cast<uint64_t>(epoch), 0x11ea5ULL}));
    for (int64_t i = n - 1; i > 0; --i) std::swap(order[i], order[rng.below(i + 1)]);
    const auto perm = torch::from_blob(order.data(), {n}, torch::kInt64).to(device);
    double loss_sum = 0;
    int64_t batches = 0;
    for (int64_t start = 0; start < n; start += batch_size) {
      const auto idx = perm.slice(0, start, std::min(start + batch_size, n));
      const auto loss = torch::nn::functional::cross_entropy(
          classifier->forward(x_all.index_select(0, idx)), y_all.index_select(0, idx));
      optimizer.zero_grad();
      loss.backward();
      optimizer.step();
      loss_sum += loss.item<double>();
      ++batches;
    }
    const double mean_loss = batches > 0 ? loss_sum / static_cast<double>(batches) : 0.0;
    const double elapsed =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    bar.update(epoch + 1, fmt::format("loss {:.4f}", mean_loss),
               elapsed / static_cast<double>(epoch + 1) * static_cast<double>(epochs - epoch - 1));
    if ((epoch + 1) % 10 == 0 || epoch + 1 == epochs) {
      log_periodic(fmt::format("linear epoch {}/{} | loss {:.4f}", epoch + 1, epochs, mean_loss));
    }
    if (stop_requested()) throw std::runtime_error("linear evaluation interrupted");
  }
  return classifier;
}

torch::Tensor classifier_scores(torch::nn::Linear& classifier, const torch::Tensor& features,
                                torch::Device device) {
  torch::NoGradGuard no_grad;
  return classifier->forward(features.to(device)).to(torch::kCPU);
}

torch::Tensor classifier_predictions(torch::nn::Linear& classifier, const torch::Tensor& features,
                                     torch::Device device) {
  return classifier_scores(classifier, features, device).argmax(1);
}

double classifier_accuracy(torch::nn::Linear& classifier, const torch::Tensor& features,
                           const torch::Tensor& labels, torch::Device device) {
  return classifier_predictions(classifier, features, device)
      .eq(labels)
      .to(torch::kFloat64)
      .mean()
      .item<double>();
}

LinearEvalResult linear_eval(const LinearEvalOptions& opt) {
  const auto t_start = std::chrono::steady_clock::now();
  if (opt.epochs < 1)
    throw std::invalid_argument("--epochs must be >= 1, got " + std::to_string(opt.epochs));
  if (opt.batch_size < 1) {
    throw std::invalid_argument("--batch-size must be >= 1, got " + std::to_string(opt.batch_size));
  }
  const EvalData d = load_eval_data(opt, "linear evaluation");

  const auto t_fit = std::chrono::steady_clock::now();
  auto classifier = train_linear_classifier(d.train_features, d.train_labels, d.num_classes,
                                            opt.epochs, opt.batch_size, opt.lr, opt.seed, d.device);
  const double fit_seconds = seconds_since(t_fit);

  LinearEvalResult result;
  result.train_accuracy =
      classifier_accuracy(classifier, d.train_features, d.train_labels, d.device);
  const json scored =
      classification_report(classifier_scores(classifier, d.test_features, d.device), d.test_labels,
                            d.num_classes, d.class_names);
  result.test_accuracy = scored["test_accuracy"].get<double>();
  result.out_path = eval_output_path(opt.out, opt.checkpoint, "linear_eval.json", opt.random_init);
  result.report = eval_report_header(opt, d);
  result.report.update(json{{"epochs", opt.epochs},
                            {"batch_size", opt.batch_size},
                            {"lr", opt.lr},
                            {"seed", opt.seed},
                            {"train_accuracy", result.train_accuracy},
                            {"classifier_seconds", fit_seconds},
                            {"seconds", seconds_since(t_start)}});
  result.report.update(scored);

  result.classifier_path =
      eval_output_path(opt.classifier_out, opt.checkpoint, "linear.pt", opt.random_init);
  save_classifier_checkpoint(result.classifier_path, d, *d.backbone, classifier, d.class_names,
                             json{{"random_init", opt.random_init},
                                  {"train_accuracy", result.train_accuracy},
                                  {"test_accuracy", result.test_accuracy}});
  result.report["classifier_file"] = result.classifier_path;
  write_file_atomic(result.out_path, result.report.dump(2) + "\n");
  return result;
}

}  // namespace relnet
