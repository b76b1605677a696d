// What `relnet compare` writes from its runs: per-method summaries (mean and
// standard deviation over seeds), compare.json, compare.md (one row per
// method, the paper's way) and compare.png (accuracy bars with their spread;
// accuracy against wall-clock training time).
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "relnet/compare/compare.h"

namespace relnet {

// Mean and standard deviation (population, as numpy.std) of one figure over
// a method's seeds; NaN when no run has it.
struct Spread {
  double mean = 0, std = 0;
};

struct MethodSummary {
  std::string method;
  int64_t runs = 0;
  Spread linear_top1, linear_top5, linear_mean_per_class, knn_top1, knn_top5, feature_spread;
  Spread train_seconds, images_per_s, peak_memory_mb;
};

// Finite values only; NaN mean and std when there is none.
Spread spread_of(const std::vector<double>& values);

// One summary per method, in the order methods first appear in `runs`.
std::vector<MethodSummary> summarize(const std::vector<CompareRun>& runs);

// What a comparison is, for the report's heading: base config, dataset,
// backbone, epochs, methods, seeds, evaluation settings.
struct CompareHeader {
  std::string config, dataset, backbone;
  int64_t epochs = 0;
  std::vector<std::string> methods;
  std::vector<int64_t> seeds;
  int64_t linear_epochs = 0, knn_k = 0;
  bool labelled = true;
};

// compare.json: {"header": ..., "runs": [CompareRun...], "summary": [...]}.
nlohmann::json compare_json(const CompareHeader& header, const std::vector<CompareRun>& runs);

// compare.md: a heading, then one table row per method with mean +- std
// over seeds: accuracies in percent, training time, images/s, peak memory.
std::string compare_markdown(const CompareHeader& header, const std::vector<MethodSummary>& rows);

// compare.png: linear top-1 per method as bars with +-std whiskers, and
// every run's linear top-1 against its training time (on unlabelled data:
// the collapse monitor's feature spread instead of accuracy). Throws
// std::runtime_error when built without image I/O.
void write_compare_png(const std::string& path, const CompareHeader& header,
                       const std::vector<CompareRun>& runs);

}  // namespace relnet
