// Training curves of a run, read from its metrics.jsonl and drawn as
// curves.png: the loss (and any loss_* terms) and the accuracy metrics
// (accuracy*: relational reasoning's all, positive and negative pairs; the
// other methods' accuracy) against epochs, with the representation monitors
// where the run has them (knn_*: kNN accuracy in the accuracy panel;
// feature_spread: a collapse panel of its own), for one run or several
// overlaid.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "relnet/util/plot.h"

namespace relnet {

struct CurvePoints {
  std::vector<double> x;  // epochs (fractional for step records)
  std::vector<double> loss;
  // Every metric the records hold whose key starts with "accuracy",
  // "loss_", "knn_" or "feature_spread", one value per x (NaN where a record
  // lacks it).
  std::map<std::string, std::vector<double>> metrics;
};

struct RunCurves {
  std::string name;    // legend label: the run directory's name
  CurvePoints steps;   // windowed step records (x = epoch progress)
  CurvePoints epochs;  // one point per completed epoch (x = epoch)
};

// Reads `run_dir`/metrics.jsonl. Records repeated by a resumed run keep
// their latest value. Throws std::runtime_error naming the file when it is
// missing, not JSON lines, or holds no step or epoch record.
RunCurves read_run_curves(const std::string& run_dir);

#ifdef RELNET_WITH_IMAGE_IO
// Loss, accuracy and collapse-monitor panels side by side, 700 x 520 pixels
// each; the accuracy panel only when a run has an accuracy metric or a kNN
// monitor, the collapse panel only when one has the collapse monitor.
cv::Mat draw_curves(const std::vector<RunCurves>& runs);
#endif

// draw_curves written as PNG to `path` (atomically). Throws
// std::runtime_error when built without image I/O.
void write_curves_png(const std::string& path, const std::vector<RunCurves>& runs);

}  // namespace relnet
