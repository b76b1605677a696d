// `relnet compare`: methods x seeds trained and evaluated alike, resumable.
#include "relnet/compare/compare.h"

#include <spdlog/fmt/fmt.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>
#include <map>
#include <stdexcept>

#include "relnet/compare/compare_report.h"
#include "relnet/config.h"
#include "relnet/data/dataset.h"
#include "relnet/eval/knn.h"
#include "relnet/eval/linear_eval.h"
#include "relnet/models/backbone.h"
#include "relnet/train/checkpoint.h"
#include "relnet/train/trainer.h"
#include "relnet/util/fs.h"
#include "relnet/util/metrics.h"
#include "relnet/util/plot.h"
#include "relnet/util/process.h"
#include "relnet/util/runtime.h"

namespace relnet {
namespace {

using nlohmann::json;
namespace fs = std::filesystem;

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

json number_or_null(double v) { return std::isfinite(v) ? json(v) : json(nullptr); }
double number_or_nan(const json& j, const char* key) {
  return j.contains(key) && j[key].is_number() ? j[key].get<double>() : kNaN;
}

std::vector<std::string> split_list(const std::string& text) {
  std::vector<std::string> out;
  size_t start = 0;
  while (true) {
    const size_t comma = text.find(',', start);
    std::string item = text.substr(start, comma == std::string::npos ? comma : comma - start);
    item.erase(0, item.find_first_not_of(" \t"));
    item.erase(item.find_last_not_of(" \t") + 1);
    out.push_back(item);
    if (comma == std::string::npos) return out;
    start = comma + 1;
  }
}

std::string known_method_names() {
  std::string out;
  for (const auto& m : known_methods()) out += m + ", ";
  return out + kRandomMethod;
}

// The config of one run: the base config and overrides, then its method,
// seed and folder.
Config run_config(const CompareOptions& o, const std::string& method, int64_t seed,
                  const std::string& dir) {
  Config c = load_config(o.config);
  std::vector<std::string> sets = o.overrides;
  if (method != kRandomMethod) sets.push_back("method.name=\"" + method + "\"");
  sets.push_back("train.seed=" + std::to_string(seed));
  apply_overrides(c, sets);
  c.train.out_dir = dir;
  c.name = method + "-seed" + std::to_string(seed);
  return c;
}

// Whether the dataset has labelled train and test splits (what linear
// evaluation and kNN need); `why` says what is missing otherwise.
bool has_labelled_splits(const Config& c, std::string& why) {
  try {
    for (const Split split : {Split::kTrain, Split::kTest}) {
      const ImageDataset d =
          load_dataset(c.data.dataset, c.data.root, split, 16, c.data.image_size);
      if (d.size() == 0 || d.num_classes < 2 || d.labels.min().item<int64_t>() < 0) {
        why = "its " + to_string(split) + " split has no labels";
        return false;
      }
    }
  } catch (const std::exception& e) {
    why = e.what();
    return false;
  }
  return true;
}

// The lower bound's "training": backbone.pt with the weights LibTorch draws
// for the architecture from the run's seed, as `relnet linear-eval
// --random-init --seed N` draws them.
void write_random_backbone(const Config& c) {
  torch::manual_seed(static_cast<uint64_t>(c.train.seed));
  Backbone backbone = make_backbone(c.model.backbone);
  int64_t side = c.data.image_size;
  if (side == 0) {
    side = load_dataset(c.data.dataset, c.data.root,
                        default_train_split(c.data.dataset, c.data.root), 1)
               .side();
  }
  Checkpoint ck;
  ck.backbone = state_dict(*backbone);
  ck.meta = checkpoint_meta(c, backbone->feature_size(), side, 0, 0, 0);
  ck.meta["method"] = kRandomMethod;
  save_checkpoint(run_dir(c) + "/backbone.pt", ck);
}

// Trains (or continues) one run in a `relnet train` process of its own and
// records its wall time and peak memory in compare_segments.jsonl. False
// when it was stopped (its checkpoint.pt holds the position).
bool train_run(const CompareOptions& o, const Config& c) {
  const std::string dir = run_dir(c);
  ensure_directory(dir);
  const std::string config_path = dir + "/compare_config.json";
  write_file_atomic(config_path, config_to_json(c).dump(2) + "\n");
  std::vector<std::string> argv{o.relnet, "train", "--config", config_path};
  const bool resume = fs::exists(dir + "/checkpoint.pt");
  if (resume) argv.push_back("--resume");
  const ChildOutcome out = run_child(argv);
  MetricsWriter(dir + "/compare_segments.jsonl", /*append=*/true)
      .write(json{{"seconds", out.seconds},
                  {"peak_memory_mb", static_cast<double>(out.peak_rss_bytes) / (1 << 20)},
                  {"exit_code", out.exit_code},
                  {"resumed", resume}});
  if (out.exit_code == 0) return true;
  if (out.stop_forwarded || out.exit_code == 130 || stop_requested()) return false;
  throw std::runtime_error("compare: training " + c.name + " failed (exit code " +
                           std::to_string(out.exit_code) + "); see '" + dir + "/train.log'");
}

// Linear evaluation and kNN of the run's backbone.pt, written beside it.
void evaluate_run(const CompareOptions& o, const Config& c, CompareRun& r) {
  LinearEvalOptions lin;
  lin.checkpoint = r.dir + "/backbone.pt";
  lin.device = o.device.empty() ? c.train.device : o.device;
  lin.threads = o.threads;
  lin.seed = r.seed;
  lin.epochs = o.linear_epochs;
  const LinearEvalResult le = linear_eval(lin);
  r.linear_top1 = number_or_nan(le.report, "test_accuracy");
  r.linear_top5 = number_or_nan(le.report, "test_top5_accuracy");
  r.linear_mean_per_class = number_or_nan(le.report, "mean_per_class_accuracy");
  KnnOptions knn;
  static_cast<EvalSource&>(knn) = static_cast<const EvalSource&>(lin);
  knn.k = o.knn_k;
  const KnnResult kr = knn_eval(knn);
  r.knn_top1 = number_or_nan(kr.report, "test_accuracy");
  r.knn_top5 = number_or_nan(kr.report, "test_top5_accuracy");
}

// Wall time and peak memory of the training processes, throughput and the
// last collapse reading from the run's metrics.jsonl (latest record per epoch).
void read_training_cost(CompareRun& r) {
  double seconds = 0, peak = kNaN;
  if (fs::exists(r.dir + "/compare_segments.jsonl")) {
    seconds = 0;
    for (const json& s : read_jsonl(r.dir + "/compare_segments.jsonl")) {
      seconds += s.value("seconds", 0.0);
      const double mb = s.value("peak_memory_mb", 0.0);
      peak = std::isfinite(peak) ? std::max(peak, mb) : mb;
    }
  }
  r.train_seconds = std::isfinite(peak) ? seconds : kNaN;
  r.peak_memory_mb = peak;
  r.images_per_s = kNaN;
  r.feature_spread = kNaN;
  if (!fs::exists(r.dir + "/metrics.jsonl")) return;
  std::map<int64_t, json> epochs;
  for (const json& rec : read_jsonl(r.dir + "/metrics.jsonl")) {
    if (rec.value("kind", "") == "epoch") epochs[rec.value("epoch", int64_t{0})] = rec;
  }
  double images = 0, train_s = 0;
  for (const auto& [e, rec] : epochs) {
    images += rec.value("images_per_s", 0.0) * rec.value("seconds", 0.0);
    train_s += rec.value("seconds", 0.0);
    if (rec.contains("feature_spread")) r.feature_spread = rec["feature_spread"].get<double>();
  }
  if (train_s > 0) r.images_per_s = images / train_s;
}

// "linear top-1 0.8123, kNN top-1 0.7990, trained in 41 s" (what applies).
std::string run_summary(const CompareRun& r) {
  std::string out;
  if (std::isfinite(r.linear_top1)) {
    out = fmt::format("linear top-1 {:.4f}, kNN top-1 {:.4f}, ", r.linear_top1, r.knn_top1);
  }
  if (std::isfinite(r.feature_spread))
    out += fmt::format("feature spread {:.4f}, ", r.feature_spread);
  return out + (std::isfinite(r.train_seconds) ? fmt::format("trained in {:.0f} s", r.train_seconds)
                                               : std::string("not trained"));
}

// A run's result.json (written by an earlier call).
CompareRun read_finished_run(const std::string& path) {
  const std::vector<char> bytes = read_file(path);
  try {
    return CompareRun::from_json(json::parse(bytes.begin(), bytes.end()));
  } catch (const json::exception& e) {
    throw std::runtime_error("'" + path + "' is damaged (" + e.what() +
                             "): delete it to evaluate that run again");
  }
}

CompareHeader make_header(const CompareOptions& o, const Config& base,
                          const std::vector<std::string>& methods, bool labelled) {
  CompareHeader h;
  h.config = o.config;
  h.dataset = base.data.dataset;
  h.backbone = base.model.backbone;
  h.epochs = base.train.epochs;
  h.methods = methods;
  h.seeds = o.seeds;
  h.linear_epochs = o.linear_epochs;
  h.knn_k = o.knn_k;
  h.labelled = labelled;
  return h;
}

void write_reports(CompareResult& result, const CompareHeader& header) {
  write_file_atomic(result.json_path, compare_json(header, result.runs).dump(2) + "\n");
  write_file_atomic(result.markdown_path, compare_markdown(header, summarize(result.runs)));
  if (image_io_available() && !result.runs.empty()) {
    write_compare_png(result.png_path, header, result.runs);
  }
}

void check_options(const CompareOptions& o) {
  if (o.methods.empty()) throw std::invalid_argument("--methods: name at least one method");
  if (o.seeds.empty()) throw std::invalid_argument("--seeds: give at least one seed");
  if (o.linear_epochs < 1 || o.knn_k < 1) {
    throw std::invalid_argument("--linear-epochs and --knn-k must be >= 1");
  }
  if (o.relnet.empty() || !fs::exists(o.relnet)) {
    throw std::runtime_error("compare: the relnet executable '" + o.relnet + "' does not exist");
  }
}

// The methods in table order: the given ones, then the bounds.
std::vector<std::string> table_methods(const CompareOptions& o, bool labelled,
                                       const std::string& why, const Config& base) {
  std::vector<std::string> methods = o.methods;
  for (const std::string& m : methods) {
    if (!labelled && (m == "supervised" || m == kRandomMethod)) {
      throw std::invalid_argument("--methods: " + m + " needs labels, and dataset " +
                                  base.data.dataset + " at '" + base.data.root + "' has none (" +
                                  why + ")");
    }
  }
  if (o.bounds && labelled) {
    for (const char* bound : {kRandomMethod, "supervised"}) {
      if (std::find(methods.begin(), methods.end(), bound) == methods.end()) {
        methods.push_back(bound);
      }
    }
  }
  return methods;
}

}  // namespace

json CompareRun::to_json() const {
  return json{{"method", method},
              {"seed", seed},
              {"run_dir", dir},
              {"linear_top1", number_or_null(linear_top1)},
              {"linear_top5", number_or_null(linear_top5)},
              {"linear_mean_per_class", number_or_null(linear_mean_per_class)},
              {"knn_top1", number_or_null(knn_top1)},
              {"knn_top5", number_or_null(knn_top5)},
              {"feature_spread", number_or_null(feature_spread)},
              {"train_seconds", number_or_null(train_seconds)},
              {"images_per_s", number_or_null(images_per_s)},
              {"peak_memory_mb", number_or_null(peak_memory_mb)}};
}

CompareRun CompareRun::from_json(const json& j) {
  CompareRun r;
  r.method = j.at("method").get<std::string>();
  r.seed = j.at("seed").get<int64_t>();
  r.dir = j.at("run_dir").get<std::string>();
  r.linear_top1 = number_or_nan(j, "linear_top1");
  r.linear_top5 = number_or_nan(j, "linear_top5");
  r.linear_mean_per_class = number_or_nan(j, "linear_mean_per_class");
  r.knn_top1 = number_or_nan(j, "knn_top1");
  r.knn_top5 = number_or_nan(j, "knn_top5");
  r.feature_spread = number_or_nan(j, "feature_spread");
  r.train_seconds = number_or_nan(j, "train_seconds");
  r.images_per_s = number_or_nan(j, "images_per_s");
  r.peak_memory_mb = number_or_nan(j, "peak_memory_mb");
  return r;
}

std::vector<std::string> parse_method_list(const std::string& text) {
  std::vector<std::string> out;
  for (const std::string& m : split_list(text)) {
    const auto& known = known_methods();
    if (m != kRandomMethod && std::find(known.begin(), known.end(), m) == known.end()) {
      throw std::invalid_argument("--methods: unknown method '" + m +
                                  "' (known: " + known_method_names() + ")");
    }
    if (std::find(out.begin(), out.end(), m) != out.end()) {
      throw std::invalid_argument("--methods: '" + m + "' is named twice");
    }
    out.push_back(m);
  }
  return out;
}

std::vector<int64_t> parse_seed_list(const std::string& text) {
  std::vector<int64_t> out;
  for (const std::string& s : split_list(text)) {
    if (s.empty() || s.size() > 18 || s.find_first_not_of("0123456789") != std::string::npos) {
      throw std::invalid_argument("--seeds: '" + s +
                                  "' is not a seed (whole numbers >= 0, e.g. --seeds 1,2,3)");
    }
    const int64_t seed = std::stoll(s);
    if (std::find(out.begin(), out.end(), seed) != out.end()) {
      throw std::invalid_argument("--seeds: " + s + " is named twice");
    }
    out.push_back(seed);
  }
  return out;
}

CompareResult run_compare(const CompareOptions& o) {
  check_options(o);
  Config base = load_config(o.config);
  apply_overrides(base, o.overrides);
  std::string why;
  const bool labelled = has_labelled_splits(base, why);
  if (!labelled) spdlog::warn("compare: no linear evaluation or kNN: {}", why);
  const std::vector<std::string> methods = table_methods(o, labelled, why, base);
  const CompareHeader header = make_header(o, base, methods, labelled);

  CompareResult result;
  result.out = o.out.empty() ? "runs/compare-" + base.name : o.out;
  result.json_path = result.out + "/compare.json";
  result.markdown_path = result.out + "/compare.md";
  result.png_path = result.out + "/compare.png";
  ensure_directory(result.out);
  const size_t total = methods.size() * o.seeds.size();
  for (const std::string& method : methods) {
    for (const int64_t seed : o.seeds) {
      CompareRun r;
      r.method = method;
      r.seed = seed;
      r.dir = result.out + "/" + method + "/seed" + std::to_string(seed);
      const std::string done = r.dir + "/result.json";
      const size_t index = result.runs.size() + 1;
      if (stop_requested()) {
        result.interrupted = true;
        write_reports(result, header);
        return result;
      }
      if (fs::exists(done)) {
        result.runs.push_back(read_finished_run(done));
        spdlog::info("compare {}/{}: {} seed {} finished earlier ({})", index, total, method, seed,
                     done);
        continue;
      }
      spdlog::info("compare {}/{}: {} seed {} -> {}", index, total, method, seed, r.dir);
      const Config c = run_config(o, method, seed, r.dir);
      try {
        if (method == kRandomMethod) {
          ensure_directory(r.dir);
          write_random_backbone(c);
        } else if (!train_run(o, c)) {
          result.interrupted = true;
        }
        if (!result.interrupted && labelled) evaluate_run(o, c, r);
      } catch (const std::exception&) {
        if (!stop_requested()) throw;
        result.interrupted = true;  // an evaluation stopped by Ctrl-C
      }
      if (result.interrupted) {
        write_reports(result, header);
        return result;
      }
      read_training_cost(r);
      write_file_atomic(done, r.to_json().dump(2) + "\n");
      result.runs.push_back(r);
      write_reports(result, header);
      spdlog::info("compare {}/{}: {} seed {} done: {}", index, total, method, seed,
                   run_summary(r));
    }
  }
  write_reports(result, header);
  return result;
}

}  // namespace relnet
