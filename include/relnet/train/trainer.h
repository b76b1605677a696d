// The training loop of every method (methods/method.h): the method's views
// -> backbone -> the method's modules and loss -> its optimizer, with
// metrics, checkpoints, resume, Ctrl-C and data parallelism.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

#include "relnet/config.h"

namespace relnet {

class ProcessGroup;
class BackboneImpl;

// What a monitor measured after an epoch.
struct MonitorReading {
  nlohmann::json fields;  // added to the epoch's metrics.jsonl record
  std::string text;       // the train.log line's figures, e.g. "kNN top-1 0.712"
};

// Watches the representation between epochs without changing it (no
// gradient, no weight, no buffer and no random draw touched): every
// train.monitor_every epochs and after the last, train() hands it the
// backbone in eval mode on its device and adds the reading to the epoch's
// record, log line and curves. eval/monitor.h has relnet's own.
class EpochMonitor {
 public:
  virtual ~EpochMonitor() = default;
  virtual MonitorReading measure(BackboneImpl& backbone) = 0;
};

struct TrainSummary {
  std::string run_dir;
  int64_t epochs_completed = 0;  // of config.train.epochs
  int64_t global_step = 0;
  double last_epoch_loss = 0;      // mean loss over the last completed epoch
  double last_epoch_accuracy = 0;  // its mean "accuracy" metric (NaN when the method has none)
  std::string last_epoch_text;     // its loss and metrics as the log lines show them
  bool interrupted = false;        // stopped by SIGINT/SIGTERM; checkpoint.pt saved
  bool already_complete = false;   // resumed a run that had finished: nothing done
  double seconds = 0;
};

// Runs (or, with `resume`, continues from run_dir/checkpoint.pt) the
// training described by `config`, with the method config.method names. Writes into run_dir(config):
// config.json, metrics.jsonl, checkpoint.pt, backbone.pt. Throws
// std::invalid_argument / std::runtime_error with a message naming the file,
// key or value at fault (bad data, a non-finite loss or model, unwritable
// folder). Before the first step the memory a step needs is estimated
// (train/memory.h); a configuration that would not fit is refused unless
// `force`. On start and resume, stale temporaries of interrupted saves are
// removed, and on resume metrics.jsonl records past the checkpoint are
// dropped (train/run_cleanup.h).
//
// With a process group (data parallelism, train/distributed.h) every rank
// calls train() with the same config: each trains on its shard of every
// epoch, gradients are averaged before each optimizer step, and rank 0 alone
// writes the run directory. Collectives that fail or time out throw on every
// surviving rank. A `monitor` (optional; rank 0's alone is used) measures the
// backbone every config.train.monitor_every epochs. `force` starts even when
// the step's memory estimate exceeds the memory available (train/memory.h).
TrainSummary train(const Config& config, bool resume, ProcessGroup* group = nullptr,
                   EpochMonitor* monitor = nullptr, bool force = false);

// The epoch_<E>.pt files in `dir` (train.epoch_checkpoints) as (E, path),
// oldest first; other files are ignored.
std::vector<std::pair<int64_t, std::string>> epoch_checkpoint_files(const std::string& dir);

// The metadata stored in checkpoints as JSON ("meta").
nlohmann::json checkpoint_meta(const Config& config, int64_t feature_size, int64_t image_side,
                               int64_t epoch, int64_t step_in_epoch, int64_t global_step);

}  // namespace relnet
