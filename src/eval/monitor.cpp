// The kNN and collapse monitors run between training epochs.
#include "relnet/eval/monitor.h"

#include <spdlog/fmt/fmt.h>
#include <spdlog/spdlog.h>

#include <cmath>
#include <stdexcept>

#include "relnet/eval/classification.h"
#include "relnet/eval/knn.h"
#include "relnet/models/backbone.h"
#include "relnet/util/runtime.h"

namespace relnet {
namespace {

// The kNN temperature of `relnet knn`'s default (eval/knn.h).
const double kTemperature = KnnOptions{}.temperature;

bool labelled(const ImageDataset& d) {
  return d.size() > 0 && d.num_classes >= 2 && d.labels.min().item<int64_t>() >= 0;
}

// The first `n` images of a split, or all of them when it holds fewer: a
// loader refuses a subset larger than the split, and the whole split is then
// no more than was asked for. Any other error comes back from the retry.
ImageDataset load_first(const DataConfig& d, Split split, int64_t n) {
  try {
    return load_dataset(d.dataset, d.root, split, n, d.image_size);
  } catch (const std::runtime_error&) {
    return load_dataset(d.dataset, d.root, split, 0, d.image_size);
  }
}

}  // namespace

double feature_spread(const torch::Tensor& features) {
  if (features.dim() != 2 || features.size(0) < 2) {
    throw std::invalid_argument("feature_spread: need (N, D) features with N >= 2, got " +
                                c10::str(features.sizes()));
  }
  torch::NoGradGuard no_grad;
  namespace F = torch::nn::functional;
  const auto unit = F::normalize(features.to(torch::kFloat64), F::NormalizeFuncOptions().dim(1));
  return unit.std(/*dim=*/0, /*unbiased=*/true).mean().item<double>();
}

RepresentationMonitor::RepresentationMonitor(const Config& config)
    : config_(config), normalization_(effective_normalization(config.data)) {
  device_ = resolve_device(config.train.device);
  const DataConfig& d = config.data;
  const TrainConfig& t = config.train;
  try {
    neighbours_ = load_first(d, Split::kTrain, t.monitor_neighbours);
    queries_ = load_first(d, Split::kTest, t.monitor_queries);
    if (!labelled(neighbours_) || !labelled(queries_)) {
      throw std::runtime_error("its train and test splits have no labels");
    }
  } catch (const std::exception& e) {
    spdlog::warn("kNN monitor off ({}: {}); the collapse monitor watches training images",
                 d.dataset, e.what());
    neighbours_ = ImageDataset{};
    const Split split =
        d.split == "auto" ? default_train_split(d.dataset, d.root) : parse_split(d.split);
    queries_ = load_first(d, split, t.monitor_queries);
  }
  spdlog::info("monitors every {} epoch(s): {}collapse on {} images", t.monitor_every,
               has_knn() ? fmt::format("kNN (k={}) of {} test images among {} train images, ",
                                       t.monitor_k, queries_.size(), neighbours_.size())
                         : std::string(),
               queries_.size());
}

MonitorReading RepresentationMonitor::measure(BackboneImpl& backbone) {
  const torch::Tensor queries =
      extract_features(backbone, queries_.images, normalization_, device_);  // (Q, D)
  MonitorReading r;
  std::string knn_text;
  if (has_knn()) {
    const torch::Tensor bank =
        extract_features(backbone, neighbours_.images, normalization_, device_);  // (N, D)
    const torch::Tensor scores =
        knn_scores(bank, neighbours_.labels, queries, queries_.num_classes, config_.train.monitor_k,
                   kTemperature, device_);  // (Q, C)
    const nlohmann::json report =
        classification_report(scores, queries_.labels, queries_.num_classes, {});
    r.fields["knn_top1"] = report["test_accuracy"];
    knn_text = fmt::format("kNN top-1 {:.4f}", report["test_accuracy"].get<double>());
    if (report.contains("test_top5_accuracy")) {
      r.fields["knn_top5"] = report["test_top5_accuracy"];
      knn_text += fmt::format(" top-5 {:.4f}", report["test_top5_accuracy"].get<double>());
    }
    knn_text += " | ";
  }
  const double spread = feature_spread(queries);
  const double healthy = 1.0 / std::sqrt(static_cast<double>(queries.size(1)));
  r.fields["feature_spread"] = spread;
  r.fields["feature_spread_healthy"] = healthy;
  r.text = knn_text + fmt::format("feature spread {:.4f} (healthy {:.4f}{})", spread, healthy,
                                  spread < 0.1 * healthy ? ", COLLAPSING" : "");
  return r;
}

std::unique_ptr<EpochMonitor> make_representation_monitor(const Config& config) {
  if (config.train.monitor_every <= 0) return nullptr;
  return std::make_unique<RepresentationMonitor>(config);
}

}  // namespace relnet
