// Linear evaluation of a frozen backbone.
#include "relnet/eval/linear_eval.h"

#include <spdlog/spdlog.h>

#include <chrono>
#include <filesystem>
#include <stdexcept>

#include "relnet/augment/pipeline.h"
#include "relnet/train/checkpoint.h"
#include "relnet/util/fs.h"
#include "relnet/util/rng.h"
#include "relnet/util/runtime.h"

namespace relnet {
namespace {

using nlohmann::json;

double seconds_since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

}  // namespace

torch::Tensor extract_features(BackboneImpl& backbone, const torch::Tensor& images,
                               const Normalization& norm, torch::Device device,
                               int64_t batch_size) {
  torch::NoGradGuard no_grad;
  backbone.eval();
  std::vector<torch::Tensor> chunks;
  for (int64_t start = 0; start < images.size(0); start += batch_size) {
    const int64_t end = std::min(start + batch_size, images.size(0));
    const auto x = normalize_images(images.slice(0, start, end), norm).to(device);
    chunks.push_back(backbone.forward(x).to(torch::kCPU));
  }
  return torch::cat(chunks, 0);
}

torch::nn::Linear train_linear_classifier(const torch::Tensor& features, const torch::Tensor& labels,
                                          int64_t classes, int64_t epochs, int64_t batch_size,
                                          double lr, int64_t seed, torch::Device device) {
  torch::manual_seed(static_cast<uint64_t>(seed));
  torch::nn::Linear classifier(features.size(1), classes);
  classifier->to(device);
  torch::optim::Adam optimizer(classifier->parameters(), torch::optim::AdamOptions(lr));
  const auto x_all = features.to(device);
  const auto y_all = labels.to(device);
  const int64_t n = features.size(0);
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
    if ((epoch + 1) % 10 == 0 || epoch + 1 == epochs) {
      spdlog::info("linear epoch {}/{} | loss {:.4f}", epoch + 1, epochs,
                   batches > 0 ? loss_sum / batches : 0.0);
    }
    if (stop_requested()) throw std::runtime_error("linear evaluation interrupted");
  }
  return classifier;
}

double classifier_accuracy(torch::nn::Linear& classifier, const torch::Tensor& features,
                           const torch::Tensor& labels, torch::Device device) {
  torch::NoGradGuard no_grad;
  const auto predicted = classifier->forward(features.to(device)).argmax(1).to(torch::kCPU);
  return predicted.eq(labels).to(torch::kFloat64).mean().item<double>();
}

LinearEvalResult linear_eval(const LinearEvalOptions& opt) {
  const auto t_start = std::chrono::steady_clock::now();
  if (opt.epochs < 1) throw std::invalid_argument("--epochs must be >= 1, got " + std::to_string(opt.epochs));
  if (opt.batch_size < 1) {
    throw std::invalid_argument("--batch-size must be >= 1, got " + std::to_string(opt.batch_size));
  }
  const Checkpoint ck = load_checkpoint(opt.checkpoint);
  const std::string backbone_name = ck.meta.value("backbone", "");
  if (backbone_name.empty()) {
    throw std::runtime_error("checkpoint '" + opt.checkpoint +
                             "' has no 'meta' naming its backbone (not written by relnet train?)");
  }
  const json saved_config = ck.meta.value("config", json::object());
  std::string dataset = opt.dataset.empty() ? ck.meta.value("dataset", "") : opt.dataset;
  std::string root = opt.data_root;
  if (root.empty() && saved_config.contains("data")) root = saved_config["data"].value("root", "");
  if (dataset.empty()) {
    throw std::invalid_argument("no dataset: the checkpoint records none, pass --dataset");
  }
  if (!is_known_dataset(dataset)) throw std::invalid_argument("unknown dataset '" + dataset + "'");
  if (root.empty()) throw std::invalid_argument("no data root: pass --data-root");

  const torch::Device device = resolve_device(opt.device);
  const int threads = set_threads(opt.threads);

  torch::manual_seed(static_cast<uint64_t>(opt.seed));
  Backbone backbone = make_backbone(backbone_name);
  if (!opt.random_init) {
    load_state_dict(*backbone, ck.backbone, "checkpoint '" + opt.checkpoint + "'");
  }
  backbone->to(device);

  // The checkpoint's normalization when evaluating on its own dataset, else
  // the evaluation dataset's.
  Normalization norm = default_normalization(dataset);
  if (dataset == ck.meta.value("dataset", "") && ck.meta.contains("normalization")) {
    const auto& n = ck.meta["normalization"];
    for (size_t c = 0; c < 3; ++c) {
      norm.mean[c] = n["mean"][c].get<float>();
      norm.std[c] = n["std"][c].get<float>();
    }
  }

  // Cross-domain evaluation: images are resized to the side the backbone was
  // trained on (recorded in the checkpoint), so features keep their scale.
  const int64_t side = ck.meta.value("image_side", int64_t{0});
  const ImageDataset train = load_dataset(dataset, root, Split::kTrain, opt.train_subset, side);
  const ImageDataset test = load_dataset(dataset, root, Split::kTest, opt.test_subset, side);
  spdlog::info("linear evaluation of {} backbone{} on {} ({} train / {} test images), device {}, {} threads",
               backbone_name, opt.random_init ? " with RANDOM weights" : " from '" + opt.checkpoint + "'",
               dataset, train.size(), test.size(), device.str(), threads);

  const auto t_feat = std::chrono::steady_clock::now();
  const auto train_features = extract_features(*backbone, train.images, norm, device);
  const auto test_features = extract_features(*backbone, test.images, norm, device);
  spdlog::info("frozen features ({} x {}) computed once in {:.1f} s", train_features.size(0),
               train_features.size(1), seconds_since(t_feat));

  const auto t_fit = std::chrono::steady_clock::now();
  auto classifier = train_linear_classifier(train_features, train.labels, train.num_classes,
                                            opt.epochs, opt.batch_size, opt.lr, opt.seed, device);
  const double fit_seconds = seconds_since(t_fit);

  LinearEvalResult result;
  result.train_accuracy = classifier_accuracy(classifier, train_features, train.labels, device);
  result.test_accuracy = classifier_accuracy(classifier, test_features, test.labels, device);
  result.out_path = !opt.out.empty()
                        ? opt.out
                        : (std::filesystem::path(opt.checkpoint).parent_path() /
                           (opt.random_init ? "linear_eval_random_init.json" : "linear_eval.json"))
                              .string();
  result.report = json{{"checkpoint", opt.checkpoint},
                       {"backbone", backbone_name},
                       {"random_init", opt.random_init},
                       {"dataset", dataset},
                       {"data_root", root},
                       {"train_images", train.size()},
                       {"test_images", test.size()},
                       {"feature_size", train_features.size(1)},
                       {"classes", train.num_classes},
                       {"epochs", opt.epochs},
                       {"batch_size", opt.batch_size},
                       {"lr", opt.lr},
                       {"seed", opt.seed},
                       {"train_accuracy", result.train_accuracy},
                       {"test_accuracy", result.test_accuracy},
                       {"classifier_seconds", fit_seconds},
                       {"seconds", seconds_since(t_start)}};
  write_file_atomic(result.out_path, result.report.dump(2) + "\n");
  return result;
}

}  // namespace relnet
