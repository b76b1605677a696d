// Training curves from metrics.jsonl.
#include "relnet/train/curves.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <map>
#include <set>
#include <stdexcept>

#include "relnet/util/metrics.h"
#include "relnet/util/plot.h"

namespace relnet {
namespace {

using nlohmann::json;

// One record's loss and plotted metrics.
struct Point {
  double loss = 0;
  std::map<std::string, double> metrics;
};

// The monitors' keys (epoch records only, train.monitor_every).
bool monitor_metric(const std::string& key) {
  return key.rfind("knn_", 0) == 0 || key.rfind("feature_spread", 0) == 0;
}

bool plotted_metric(const std::string& key) {
  return key.rfind("accuracy", 0) == 0 || key.rfind("loss_", 0) == 0 || monitor_metric(key);
}

CurvePoints to_points(const std::map<double, Point>& by_x) {
  CurvePoints c;
  std::set<std::string> keys;
  for (const auto& [x, p] : by_x) {
    for (const auto& [k, v] : p.metrics) keys.insert(k);
  }
  for (const auto& [x, p] : by_x) {
    c.x.push_back(x);
    c.loss.push_back(p.loss);
    for (const auto& k : keys) {
      const auto it = p.metrics.find(k);
      c.metrics[k].push_back(it == p.metrics.end() ? std::nan("") : it->second);
    }
  }
  return c;
}

Point point_of(const json& r) {
  Point p;
  p.loss = r.value("loss", 0.0);
  for (const auto& [k, v] : r.items()) {
    if (plotted_metric(k) && v.is_number()) p.metrics[k] = v.get<double>();
  }
  return p;
}

// The legend name of a metric: relational reasoning's pair accuracies by
// their pairs, others by their key.
std::string metric_label(const std::string& key, bool pair_metrics) {
  if (key == "accuracy") return pair_metrics ? "all pairs" : "accuracy";
  if (key == "accuracy_positive") return "positive pairs";
  if (key == "accuracy_negative") return "negative pairs";
  if (key.rfind("loss_", 0) == 0) return key.substr(5) + " term";
  if (key == "knn_top1") return "kNN top-1 (monitor)";
  if (key == "knn_top5") return "kNN top-5 (monitor)";
  if (key == "feature_spread") return "feature spread";
  if (key == "feature_spread_healthy") return "healthy: 1/sqrt(D)";
  return key;
}

}  // namespace

RunCurves read_run_curves(const std::string& run_dir) {
  const std::string path = (std::filesystem::path(run_dir) / "metrics.jsonl").string();
  if (!std::filesystem::exists(path)) {
    throw std::runtime_error("no metrics at '" + path + "' (is '" + run_dir +
                             "' a relnet train run directory?)");
  }
  std::map<double, Point> steps, epochs;
  for (const json& r : read_jsonl(path)) {
    const std::string kind = r.value("kind", "");
    if (kind == "step" && r.contains("epoch_progress")) {
      steps[r["epoch_progress"].get<double>()] = point_of(r);  // later records win
    } else if (kind == "epoch" && r.contains("epoch")) {
      epochs[r["epoch"].get<double>()] = point_of(r);
    }
  }
  if (steps.empty() && epochs.empty()) {
    throw std::runtime_error("'" + path + "' holds no step or epoch record yet");
  }
  RunCurves run;
  std::filesystem::path p = std::filesystem::path(run_dir).lexically_normal();
  if (p.filename().empty()) p = p.parent_path();
  run.name = p.filename().string();
  run.steps = to_points(steps);
  run.epochs = to_points(epochs);
  return run;
}

#ifdef RELNET_WITH_IMAGE_IO
cv::Mat draw_curves(const std::vector<RunCurves>& runs) {
  if (runs.empty()) throw std::invalid_argument("draw_curves: no run");
  const bool several = runs.size() > 1;
  Panel loss{"training loss", "epoch", "loss", {}, std::nullopt};
  Panel acc{"accuracy", "epoch", "accuracy", {}, std::nullopt};
  Panel collapse{"collapse monitor", "epoch", "std of L2-normalised features", {}, std::nullopt};
  const LineStyle styles[] = {LineStyle::kSolid, LineStyle::kDashed, LineStyle::kDotted};
  for (size_t i = 0; i < runs.size(); ++i) {
    const RunCurves& r = runs[i];
    const bool has_steps = !r.steps.x.empty();
    const cv::Scalar color = palette(i);
    // The step records draw the curve; the epoch means are its markers.
    auto add = [&](Panel& panel, const std::string& label, const std::vector<double>& sy,
                   const std::vector<double>& ey, LineStyle style, cv::Scalar c) {
      if (has_steps) {
        panel.series.push_back({label, r.steps.x, sy, c, style, 2, false, true});
        if (!ey.empty())
          panel.series.push_back({"", r.epochs.x, ey, c, LineStyle::kSolid, 2, true, false});
      } else {
        panel.series.push_back({label, r.epochs.x, ey, c, style, 2, true, true});
      }
    };
    add(loss, several ? r.name : "loss (dots: epoch means)", r.steps.loss, r.epochs.loss,
        LineStyle::kSolid, color);
    // The monitors: kNN accuracy beside the method's, the collapse monitor
    // in a panel of its own (its healthy level dashed).
    size_t n_mon = 0;
    for (const auto& [key, values] : r.epochs.metrics) {
      if (!monitor_metric(key)) continue;
      const bool spread = key.rfind("feature_spread", 0) == 0;
      const bool healthy = key == "feature_spread_healthy";
      const cv::Scalar c = several ? color : palette(spread ? (healthy ? 1 : 0) : 4 + n_mon++);
      const std::string name = metric_label(key, false);
      (spread ? collapse : acc)
          .series.push_back({several ? r.name + " " + name : name, r.epochs.x, values, c,
                             healthy ? LineStyle::kDashed : LineStyle::kSolid, 2, !healthy, true});
    }
    const CurvePoints& source = has_steps ? r.steps : r.epochs;
    const bool pairs = source.metrics.count("accuracy_positive") > 0;
    size_t n_acc = 0, n_loss = 1;
    for (const auto& [key, values] : source.metrics) {
      if (monitor_metric(key)) continue;
      const bool is_loss = key.rfind("loss_", 0) == 0;
      Panel& panel = is_loss ? loss : acc;
      size_t& n = is_loss ? n_loss : n_acc;
      // One run: a colour per metric. Several: a colour per run, a style per metric.
      const cv::Scalar c = several ? color : palette(n);
      const std::string name = metric_label(key, pairs);
      const auto e = r.epochs.metrics.find(key);
      add(panel, several ? r.name + " " + name : name, has_steps ? values : std::vector<double>{},
          e == r.epochs.metrics.end() ? std::vector<double>{} : e->second, styles[n % 3], c);
      ++n;
    }
  }
  std::vector<Panel> panels{loss};
  if (!acc.series.empty()) panels.push_back(acc);
  if (!collapse.series.empty()) {
    // From 0, where a collapsed representation ends.
    double top = 0;
    for (const auto& s : collapse.series) {
      for (const double y : s.y) {
        if (std::isfinite(y)) top = std::max(top, y);
      }
    }
    if (top > 0) collapse.y_range = std::make_pair(0.0, top * 1.1);
    panels.push_back(collapse);
  }
  return draw_panels(panels, 700, 520);
}

#endif

void write_curves_png(const std::string& path, const std::vector<RunCurves>& runs) {
  require_image_io("drawing '" + path + "'");
#ifdef RELNET_WITH_IMAGE_IO
  write_png(path, draw_curves(runs));
#else
  (void)runs;
#endif
}

}  // namespace relnet
