// `relnet compare`: the paper's protocol in one command. Every method x seed
// is trained from one base config, each backbone is evaluated the same way
// (linear evaluation and kNN, where the dataset has labelled splits), and
// the runs are summarised per method as mean +- std over seeds, with the
// random-weights lower bound and the supervised upper bound beside them.
//
// Layout: <out>/<method>/seed<N>/ holds a run's usual files (config.json,
// metrics.jsonl, train.log, checkpoint.pt, backbone.pt, linear_eval.json,
// knn.json) plus result.json (its row of compare.json) and
// compare_segments.jsonl (the wall time and peak memory of each training
// process); <out>/compare.json, compare.md and compare.png summarise them.
//
// Resume: a run with result.json is done and skipped; one with a
// checkpoint.pt continues from it. A stop request (Ctrl-C) is passed on to
// the training process, which saves its checkpoint; run_compare then
// returns with `interrupted` set, and the same call continues.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace relnet {

// The method name of the random-weights lower bound (no training).
inline const char* const kRandomMethod = "random";

struct CompareOptions {
  std::string config;                  // the base config file
  std::vector<std::string> overrides;  // "section.key=value", applied to every run
  std::vector<std::string> methods;    // known_methods() or kRandomMethod, in table order
  std::vector<int64_t> seeds;
  std::string out;     // empty = runs/compare-<config's name>
  bool bounds = true;  // add kRandomMethod and "supervised" when the data has labels
  int64_t linear_epochs = 100;
  int64_t knn_k = 200;
  std::string device;  // evaluations' device, empty = the config's train.device
  int64_t threads = 0;
  std::string relnet;  // the relnet executable that trains each run (`relnet train`)
};

// One method x seed, as compare.json lists it. NaN where a figure does not
// apply (no labels: no accuracies; kRandomMethod: no training cost).
struct CompareRun {
  std::string method;
  int64_t seed = 0;
  std::string dir;
  double linear_top1 = 0, linear_top5 = 0, linear_mean_per_class = 0;
  double knn_top1 = 0, knn_top5 = 0;
  double feature_spread = 0;  // the collapse monitor after the last epoch
  double train_seconds = 0;   // wall time of the training processes
  double images_per_s = 0;    // training throughput (backbone inputs per second)
  double peak_memory_mb = 0;  // the training processes' largest resident set
  nlohmann::json to_json() const;
  static CompareRun from_json(const nlohmann::json& j);
};

struct CompareResult {
  std::vector<CompareRun> runs;  // finished ones, in methods x seeds order
  bool interrupted = false;
  std::string out, json_path, markdown_path, png_path;
};

// "relational,simclr" -> {"relational", "simclr"}. Throws
// std::invalid_argument with one line naming the bad entry (unknown method,
// duplicate, empty list).
std::vector<std::string> parse_method_list(const std::string& text);

// "1,2,3" -> {1, 2, 3}. Throws std::invalid_argument with one line naming the
// bad entry (not a whole number >= 0, duplicate, empty list).
std::vector<int64_t> parse_seed_list(const std::string& text);

// Runs (or continues) the comparison and writes compare.json, compare.md and
// compare.png (also after every finished run, so a stopped comparison shows
// what it has). Throws std::runtime_error naming the run and its train.log
// when a training process fails, and like load_config / apply_overrides for
// a bad base config.
CompareResult run_compare(const CompareOptions& options);

}  // namespace relnet
