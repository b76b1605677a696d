// Training curves from metrics.jsonl.
#include "relnet/train/curves.h"

#include <algorithm>
#include <filesystem>
#include <map>
#include <stdexcept>

#include "relnet/util/metrics.h"
#include "relnet/util/plot.h"

namespace relnet {
namespace {

using nlohmann::json;

struct Point {
  double loss, accuracy, positive, negative;
};

CurvePoints to_points(const std::map<double, Point>& by_x) {
  CurvePoints c;
  for (const auto& [x, p] : by_x) {
    c.x.push_back(x);
    c.loss.push_back(p.loss);
    c.accuracy.push_back(p.accuracy);
    c.positive.push_back(p.positive);
    c.negative.push_back(p.negative);
  }
  return c;
}

Point point_of(const json& r) {
  return {r.value("loss", 0.0), r.value("accuracy", 0.0), r.value("accuracy_positive", 0.0),
          r.value("accuracy_negative", 0.0)};
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
  Panel loss{"relation loss", "epoch", "loss", {}, std::nullopt};
  Panel acc{"pair accuracy", "epoch", "accuracy", {}, std::nullopt};
  struct Metric {
    const char* name;
    std::vector<double> CurvePoints::*values;
    LineStyle style;
  };
  const Metric metrics[] = {{"all pairs", &CurvePoints::accuracy, LineStyle::kSolid},
                            {"positive pairs", &CurvePoints::positive, LineStyle::kDashed},
                            {"negative pairs", &CurvePoints::negative, LineStyle::kDotted}};
  for (size_t i = 0; i < runs.size(); ++i) {
    const RunCurves& r = runs[i];
    const bool has_steps = !r.steps.x.empty();
    const cv::Scalar color = palette(i);
    // The step records draw the curve; the epoch means are its markers.
    auto add = [&](Panel& panel, const std::string& label, const std::vector<double>& sx,
                   const std::vector<double>& sy, const std::vector<double>& ex,
                   const std::vector<double>& ey, LineStyle style, cv::Scalar c) {
      if (has_steps) {
        panel.series.push_back({label, sx, sy, c, style, 2, false, true});
        panel.series.push_back({"", ex, ey, c, LineStyle::kSolid, 2, true, false});
      } else {
        panel.series.push_back({label, ex, ey, c, style, 2, true, true});
      }
    };
    add(loss, several ? r.name : "loss (dots: epoch means)", r.steps.x, r.steps.loss, r.epochs.x,
        r.epochs.loss, LineStyle::kSolid, color);
    for (size_t m = 0; m < 3; ++m) {
      // One run: a colour per metric. Several: a colour per run, a style per metric.
      const cv::Scalar c = several ? color : palette(m);
      const std::string label = several ? r.name + " " + metrics[m].name : metrics[m].name;
      add(acc, label, r.steps.x, r.steps.*metrics[m].values, r.epochs.x,
          r.epochs.*metrics[m].values, metrics[m].style, c);
    }
  }
  return draw_panels({loss, acc}, 700, 520);
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
