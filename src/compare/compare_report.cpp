// Summaries, compare.json, compare.md and compare.png of a comparison.
#include "relnet/compare/compare_report.h"

#include <spdlog/fmt/fmt.h>

#include <algorithm>
#include <cmath>
#include <limits>

#include "relnet/util/metrics.h"
#include "relnet/util/plot.h"

namespace relnet {
namespace {

using nlohmann::json;

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// NaN as JSON null (JSON has no NaN).
json number_or_null(double v) { return std::isfinite(v) ? json(v) : json(nullptr); }

json spread_json(const Spread& s) {
  return json{{"mean", number_or_null(s.mean)}, {"std", number_or_null(s.std)}};
}

// "85.31 ± 0.12" (percent), "-" when absent.
std::string percent(const Spread& s) {
  if (!std::isfinite(s.mean)) return "-";
  return fmt::format("{:.2f} ± {:.2f}", 100 * s.mean, 100 * s.std);
}

// The mean with `digits` decimals, "-" when absent.
std::string plain(const Spread& s, int digits) {
  if (!std::isfinite(s.mean)) return "-";
  return fmt::format("{:.{}f}", s.mean, digits);
}

std::string join_seeds(const std::vector<int64_t>& seeds) {
  std::string out;
  for (const int64_t s : seeds) out += (out.empty() ? "" : ", ") + std::to_string(s);
  return out;
}

// The table's name of a method: the bounds say what they are.
std::string row_name(const std::string& method) {
  if (method == kRandomMethod) return "random weights (lower bound)";
  if (method == "supervised") return "supervised (upper bound)";
  return method;
}

}  // namespace

Spread spread_of(const std::vector<double>& values) {
  double sum = 0;
  int64_t n = 0;
  for (const double v : values) {
    if (std::isfinite(v)) sum += v, ++n;
  }
  if (n == 0) return {kNaN, kNaN};
  const double mean = sum / static_cast<double>(n);
  double sq = 0;
  for (const double v : values) {
    if (std::isfinite(v)) sq += (v - mean) * (v - mean);
  }
  return {mean, std::sqrt(sq / static_cast<double>(n))};
}

std::vector<MethodSummary> summarize(const std::vector<CompareRun>& runs) {
  std::vector<std::string> order;
  for (const auto& r : runs) {
    if (std::find(order.begin(), order.end(), r.method) == order.end()) order.push_back(r.method);
  }
  std::vector<MethodSummary> out;
  for (const auto& method : order) {
    std::vector<const CompareRun*> mine;
    for (const auto& r : runs) {
      if (r.method == method) mine.push_back(&r);
    }
    auto over = [&](double CompareRun::*field) {
      std::vector<double> v;
      for (const CompareRun* r : mine) v.push_back(r->*field);
      return spread_of(v);
    };
    MethodSummary s;
    s.method = method;
    s.runs = static_cast<int64_t>(mine.size());
    s.linear_top1 = over(&CompareRun::linear_top1);
    s.linear_top5 = over(&CompareRun::linear_top5);
    s.linear_mean_per_class = over(&CompareRun::linear_mean_per_class);
    s.knn_top1 = over(&CompareRun::knn_top1);
    s.knn_top5 = over(&CompareRun::knn_top5);
    s.feature_spread = over(&CompareRun::feature_spread);
    s.train_seconds = over(&CompareRun::train_seconds);
    s.images_per_s = over(&CompareRun::images_per_s);
    s.peak_memory_mb = over(&CompareRun::peak_memory_mb);
    out.push_back(s);
  }
  return out;
}

json compare_json(const CompareHeader& h, const std::vector<CompareRun>& runs) {
  json header{{"config", h.config},     {"dataset", h.dataset},
              {"backbone", h.backbone}, {"epochs", h.epochs},
              {"methods", h.methods},   {"seeds", h.seeds},
              {"labelled", h.labelled}, {"linear_epochs", h.linear_epochs},
              {"knn_k", h.knn_k}};
  json rows = json::array();
  for (const auto& r : runs) rows.push_back(r.to_json());
  json summary = json::array();
  for (const auto& s : summarize(runs)) {
    summary.push_back(json{{"method", s.method},
                           {"runs", s.runs},
                           {"linear_top1", spread_json(s.linear_top1)},
                           {"linear_top5", spread_json(s.linear_top5)},
                           {"linear_mean_per_class", spread_json(s.linear_mean_per_class)},
                           {"knn_top1", spread_json(s.knn_top1)},
                           {"knn_top5", spread_json(s.knn_top5)},
                           {"feature_spread", spread_json(s.feature_spread)},
                           {"train_seconds", spread_json(s.train_seconds)},
                           {"images_per_s", spread_json(s.images_per_s)},
                           {"peak_memory_mb", spread_json(s.peak_memory_mb)}});
  }
  return json{{"header", header}, {"runs", rows}, {"summary", summary}};
}

std::string compare_markdown(const CompareHeader& h, const std::vector<MethodSummary>& rows) {
  std::string md = fmt::format("# relnet compare: {}\n\n", h.config);
  md += fmt::format("{} backbone on {}, {} epoch(s) per run, seeds {}. ", h.backbone, h.dataset,
                    h.epochs, join_seeds(h.seeds));
  md += h.labelled ? fmt::format(
                         "Accuracy on the test split in percent, mean ± std over seeds: linear "
                         "evaluation ({} epochs) and weighted kNN (k = {}).\n\n",
                         h.linear_epochs, h.knn_k)
                   : std::string(
                         "The dataset has no labelled test split: no accuracy; the "
                         "collapse monitor's feature spread instead.\n\n");
  md +=
      "| method | runs | linear top-1 | linear top-5 | mean per-class | kNN top-1 | kNN top-5 "
      "| feature spread | train time (s) | images/s | peak memory (MB) |\n";
  md += "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n";
  for (const auto& s : rows) {
    md += fmt::format("| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |\n",
                      row_name(s.method), s.runs, percent(s.linear_top1), percent(s.linear_top5),
                      percent(s.linear_mean_per_class), percent(s.knn_top1), percent(s.knn_top5),
                      plain(s.feature_spread, 4), plain(s.train_seconds, 0),
                      plain(s.images_per_s, 0), plain(s.peak_memory_mb, 0));
  }
  return md;
}

void write_compare_png(const std::string& path, const CompareHeader& h,
                       const std::vector<CompareRun>& runs) {
  require_image_io("drawing '" + path + "'");
#ifdef RELNET_WITH_IMAGE_IO
  const std::vector<MethodSummary> rows = summarize(runs);
  const bool acc = h.labelled;
  const std::string what = acc ? "linear top-1 (%)" : "feature spread";
  const double scale = acc ? 100.0 : 1.0;
  Panel bars{acc ? "linear evaluation: mean and std over seeds" : "collapse monitor after training",
             "",
             what,
             {},
             std::nullopt};
  Panel cost{acc ? "accuracy against training time" : "feature spread against training time",
             "training wall time (minutes)",
             what,
             {},
             std::nullopt};
  for (size_t i = 0; i < rows.size(); ++i) {
    const Spread& s = acc ? rows[i].linear_top1 : rows[i].feature_spread;
    bars.x_categories.push_back(rows[i].method);
    const double x = static_cast<double>(i);
    Series bar{"", {x}, {scale * s.mean}, palette(i)};
    bar.bar_width = 0.6;
    bars.series.push_back(bar);
    Series whisker{
        "", {x, x}, {scale * (s.mean - s.std), scale * (s.mean + s.std)}, cv::Scalar(40, 40, 40)};
    bars.series.push_back(whisker);
    Series points{rows[i].method, {}, {}, palette(i)};
    points.line = false;
    points.markers = true;
    for (const auto& r : runs) {
      if (r.method != rows[i].method || !std::isfinite(r.train_seconds)) continue;
      points.x.push_back(r.train_seconds / 60);
      points.y.push_back(scale * (acc ? r.linear_top1 : r.feature_spread));
    }
    if (!points.x.empty()) cost.series.push_back(points);
  }
  // Bars start at the plot's bottom: keep it a little below the lowest whisker.
  double lo = std::numeric_limits<double>::infinity(), hi = -lo;
  for (const auto& s : bars.series) {
    for (const double y : s.y) {
      if (std::isfinite(y)) lo = std::min(lo, y), hi = std::max(hi, y);
    }
  }
  if (std::isfinite(lo)) {
    const double pad = std::max((hi - lo) * 0.15, acc ? 1.0 : 1e-3);
    bars.y_range =
        std::make_pair(std::max(0.0, lo - pad), acc ? std::min(100.0, hi + pad) : hi + pad);
  }
  write_png(path, draw_panels({bars, cost}, 700, 520));
#else
  (void)h;
  (void)runs;
#endif
}

}  // namespace relnet
