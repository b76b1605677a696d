// Self-supervised relational reasoning: the training loop.
#include "relnet/train/trainer.h"

#include <spdlog/fmt/fmt.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <optional>
#include <stdexcept>

#include "relnet/augment/batcher.h"
#include "relnet/augment/pipeline.h"
#include "relnet/data/dataset.h"
#include "relnet/methods/method.h"
#include "relnet/models/backbone.h"
#include "relnet/train/checkpoint.h"
#include "relnet/train/curves.h"
#include "relnet/train/distributed.h"
#include "relnet/train/finite.h"
#include "relnet/train/memory.h"
#include "relnet/train/run_cleanup.h"
#include "relnet/train/step.h"
#include "relnet/util/fs.h"
#include "relnet/util/logging.h"
#include "relnet/util/metrics.h"
#include "relnet/util/progress.h"
#include "relnet/util/runtime.h"
#include "relnet/util/version.h"

namespace relnet {
namespace {

using Clock = std::chrono::steady_clock;
using nlohmann::json;

double seconds_since(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

// Running sums over a window of steps: the loss and the method's metrics.
struct Window {
  double loss = 0, wait = 0;
  std::vector<double> metrics;
  int64_t steps = 0, images = 0;
  Clock::time_point start = Clock::now();
  explicit Window(size_t metric_count = 0) : metrics(metric_count, 0.0) {}
  // stats: the loss, then one value per metric.
  void add(const double* stats, int64_t inputs, double wait_s) {
    loss += stats[0];
    for (size_t m = 0; m < metrics.size(); ++m) metrics[m] += stats[m + 1];
    wait += wait_s;
    images += inputs;
    ++steps;
  }
  double mean(double sum) const { return sum / static_cast<double>(std::max<int64_t>(steps, 1)); }
  double images_per_s() const {
    const double elapsed = seconds_since(start);
    return elapsed > 0 ? static_cast<double>(images) / elapsed : 0.0;
  }
  json record(const std::vector<MetricInfo>& infos) const {
    json r{{"loss", mean(loss)}};
    for (size_t m = 0; m < infos.size(); ++m) r[infos[m].key] = mean(metrics[m]);
    r["images_per_s"] = images_per_s();
    r["data_wait_s"] = wait;
    r["seconds"] = seconds_since(start);
    return r;
  }
  // "loss 0.6931 acc 0.500 pos 0.500 neg 0.500"
  std::string text(const std::vector<MetricInfo>& infos) const {
    std::string out = fmt::format("loss {:.4f}", mean(loss));
    for (size_t m = 0; m < infos.size(); ++m) {
      out += fmt::format(" {} {:.3f}", infos[m].label, mean(metrics[m]));
    }
    return out;
  }
};

}  // namespace

std::vector<std::pair<int64_t, std::string>> epoch_checkpoint_files(const std::string& dir) {
  std::vector<std::pair<int64_t, std::string>> out;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
    const std::string name = entry.path().filename().string();
    // epoch_<digits>.pt and nothing else (not epoch_3.pt.tmp, not epoch_x.pt).
    if (name.size() <= 9 || name.rfind("epoch_", 0) != 0 || name.substr(name.size() - 3) != ".pt") {
      continue;
    }
    const std::string digits = name.substr(6, name.size() - 9);
    if (digits.find_first_not_of("0123456789") != std::string::npos) continue;
    out.emplace_back(std::stoll(digits), entry.path().string());
  }
  std::sort(out.begin(), out.end());
  return out;
}

namespace {

// Writes epoch_<epoch>.pt when due and deletes all but the newest keep_last.
void save_epoch_checkpoint(const std::string& dir, const TrainConfig& tc, int64_t epoch,
                           const Checkpoint& full) {
  if (tc.epoch_checkpoints <= 0 || epoch % tc.epoch_checkpoints != 0) return;
  const std::string path = dir + "/epoch_" + std::to_string(epoch) + ".pt";
  save_checkpoint(path, full);
  spdlog::info("saved '{}'", path);
  if (tc.keep_last <= 0) return;
  auto files = epoch_checkpoint_files(dir);
  const auto keep = static_cast<size_t>(tc.keep_last);
  for (size_t i = 0; i + keep < files.size(); ++i) {
    std::error_code ec;
    std::filesystem::remove(files[i].second, ec);
    if (ec) spdlog::warn("could not delete old '{}': {}", files[i].second, ec.message());
  }
}

}  // namespace

json checkpoint_meta(const Config& config, int64_t feature_size, int64_t image_side, int64_t epoch,
                     int64_t step_in_epoch, int64_t global_step) {
  const Normalization norm = effective_normalization(config.data);
  return json{{"format", "relnet-checkpoint"},
              {"relnet_version", version()},
              {"git_commit", git_commit()},
              {"backbone", config.model.backbone},
              {"method", config.method.name},
              {"feature_size", feature_size},
              {"dataset", config.data.dataset},
              {"image_side", image_side},
              {"normalization", {{"mean", norm.mean}, {"std", norm.std}}},
              {"epoch", epoch},
              {"step_in_epoch", step_in_epoch},
              {"global_step", global_step},
              {"config", config_to_json(config)}};
}

namespace {

// One run of train(): the pieces it builds once, then the epoch loop, each
// part a short function. Rank 0 alone writes the run directory.
class Trainer {
 public:
  Trainer(const Config& config, bool resume, ProcessGroup* group, EpochMonitor* monitor, bool force)
      : config_(config),
        tc_(config.train),
        resume_(resume),
        force_(force),
        group_(group),
        monitor_(monitor),
        rank_(group ? group->rank() : 0),
        world_(group ? group->world_size() : 1),
        writer_(rank_ == 0),
        dir_(run_dir(config)),
        checkpoint_path_(dir_ + "/checkpoint.pt") {}

  TrainSummary run();

 private:
  void start_runtime();
  void load_data();
  void build_model();
  void restore();
  void check_memory() const;
  void start_writing();
  bool run_epoch(int64_t epoch);  // false when interrupted
  bool take_step(const ViewBatch& batch, int64_t epoch, int64_t step, double wait_s);
  void flush_pending();
  double eta() const;
  void log_step(int64_t epoch, int64_t step);
  void finish_epoch(int64_t epoch);
  void run_monitor(int64_t epoch, json& record);
  Checkpoint full_checkpoint(const json& meta) const;
  void save(int64_t epoch, int64_t step_in_epoch);
  json rank_hashes();
  [[noreturn]] void fail_nonfinite(const std::string& what, int64_t epoch, int64_t step,
                                   int64_t global_step) const;

  const Config& config_;
  const TrainConfig& tc_;
  const bool resume_, force_;
  ProcessGroup* group_;
  EpochMonitor* monitor_;
  const int rank_, world_;
  const bool writer_;
  const std::string dir_, checkpoint_path_;
  const Clock::time_point t_start_ = Clock::now();

  torch::Device device_ = torch::kCPU;
  int64_t workers_ = 0;
  ImageDataset data_;
  Normalization norm_;
  Backbone backbone_;
  std::unique_ptr<Method> method_;
  std::vector<MetricInfo> metric_infos_;
  std::unique_ptr<torch::optim::Optimizer> optimizer_;
  std::unique_ptr<TrainStep> step_;
  std::unique_ptr<ViewAugmenter> augmenter_;
  std::unique_ptr<ViewBatcher> batcher_;
  std::vector<torch::Tensor> backbone_params_, module_params_, buffers_, state_;
  ProcessGroup::PendingGradients head_reduction_;
  std::optional<MetricsWriter> metrics_;

  int64_t B_ = 0, steps_per_epoch_ = 0, inputs_per_step_ = 0;
  int64_t start_epoch_ = 0, start_step_ = 0, global_step_ = 0;
  int64_t total_steps_ = 0, first_global_ = 0;
  Clock::time_point t_train_;
  Window epoch_window_, log_window_;
  TrainSummary summary_;

  // On CUDA, reading the loss every step would make the host wait for the
  // GPU at every step: single-process CUDA runs keep each step's figures on
  // the device and read them at log steps, epoch ends and before any save
  // (a non-finite loss is then reported for its own step, and nothing after
  // it is saved).
  struct PendingStep {
    torch::Tensor stats;  // (1 + M) float64: the loss, then the metrics
    int64_t epoch, step, global_step;
    double wait_s;
  };
  bool defer_ = false;
  std::vector<PendingStep> pending_;
};

TrainSummary Trainer::run() {
  summary_.run_dir = dir_;
  if (resume_ && !std::filesystem::exists(checkpoint_path_)) {
    throw std::runtime_error("--resume: no checkpoint at '" + checkpoint_path_ +
                             "' (train once without --resume first)");
  }
  if (writer_) {
    ensure_directory(dir_);
    // A process killed while saving leaves its temporary beside the file.
    for (const auto& path : remove_stale_temporaries(dir_)) {
      spdlog::info("removed '{}', left by an interrupted save", path);
    }
  }
  start_runtime();
  load_data();
  build_model();
  if (resume_) restore();
  check_memory();
  if (group_) {
    group_->broadcast(state_);  // every rank starts from rank 0's weights and buffers
    spdlog::info("{} ranks joined; parameters broadcast from rank 0", world_);
  }
  start_writing();
  summary_.epochs_completed = start_epoch_;
  summary_.global_step = global_step_;
  if (start_epoch_ >= tc_.epochs) {
    spdlog::info("nothing to do: the checkpoint has completed {} of {} epochs", start_epoch_,
                 tc_.epochs);
    summary_.already_complete = true;
  } else {
    total_steps_ = tc_.epochs * steps_per_epoch_;
    first_global_ = start_epoch_ * steps_per_epoch_ + start_step_;
    t_train_ = Clock::now();
    for (int64_t epoch = start_epoch_; epoch < tc_.epochs; ++epoch) {
      if (!run_epoch(epoch)) {
        summary_.interrupted = true;
        break;
      }
      finish_epoch(epoch);
    }
  }
  summary_.global_step = global_step_;
  summary_.seconds = seconds_since(t_start_);
  return summary_;
}

// Device, threads and augmentation workers.
void Trainer::start_runtime() {
  device_ = resolve_device(tc_.device);
  if (device_.is_cuda()) configure_cudnn(tc_.deterministic);
  // Processes on one machine share its cores.
  const int cores = std::max(1, hardware_threads() / local_world_size());
  const int threads = set_threads(tc_.threads > 0 ? tc_.threads : cores);
  workers_ = augmentation_workers(config_.data.workers, device_.is_cuda(), cores);
  defer_ = device_.is_cuda() && !group_;
  B_ = tc_.batch_size;
  spdlog::info("device {}, {} intra-op threads, {}{}", device_.str(), threads,
               workers_ > 0 ? fmt::format("{} augmentation workers", workers_)
                            : std::string("augmentation on the intra-op threads"),
               world_ > 1 ? fmt::format(", rank {} of {} (effective batch {} = {} x {})", rank_,
                                        world_, B_ * world_, B_, world_)
                          : std::string());
}

void Trainer::load_data() {
  const auto t_load = Clock::now();
  const Split split = config_.data.split == "auto"
                          ? default_train_split(config_.data.dataset, config_.data.root)
                          : parse_split(config_.data.split);
  data_ = load_dataset(config_.data.dataset, config_.data.root, split, config_.data.subset,
                       config_.data.image_size);
  spdlog::info("dataset {} ({}): {} {} images of {}x{}, loaded in {:.3f} s", data_.name,
               config_.data.root, data_.size(), to_string(split), data_.side(), data_.side(),
               seconds_since(t_load));
  norm_ = effective_normalization(config_.data);
}

// Backbone, method, optimizer, step and the batcher of the method's views.
void Trainer::build_model() {
  torch::manual_seed(static_cast<uint64_t>(tc_.seed));
  backbone_ = make_backbone(config_.model.backbone);
  backbone_->set_fused(config_.model.fused);
  backbone_->to(device_);
  method_ = make_method({&config_, &data_, norm_, device_, backbone_});
  metric_infos_ = method_->metrics();
  const double lr = effective_lr(config_, *method_);
  optimizer_ = method_->make_optimizer(method_parameters(backbone_, *method_), lr);
  step_ = std::make_unique<TrainStep>(backbone_, *method_);
  step_->set_bf16(tc_.precision == "bf16");

  const int64_t views = method_->views_per_image();
  augmenter_ =
      std::make_unique<ViewAugmenter>(config_.augment, norm_, data_.side(), method_->view_recipe());
  batcher_ =
      std::make_unique<ViewBatcher>(data_, *augmenter_, views, B_, static_cast<uint64_t>(tc_.seed),
                                    workers_, config_.data.prefetch, rank_, world_,
                                    /*pin_memory=*/device_.is_cuda());
  steps_per_epoch_ = batcher_->batches_per_epoch();
  inputs_per_step_ = method_->inputs_per_image() * B_ * world_;

  backbone_params_ = backbone_->parameters();
  module_params_ = module_parameters(*method_);
  buffers_ = method_buffers(backbone_, *method_);
  state_ = method_parameters(backbone_, *method_);  // what must stay identical on every rank
  state_.insert(state_.end(), buffers_.begin(), buffers_.end());
  if (group_) {
    // The modules' gradients are final before the backbone's backward pass
    // starts: reduce them meanwhile.
    step_->on_head_gradients_ready(
        [this] { head_reduction_ = group_->average_gradients_async(module_params_); });
  }
  int64_t module_count = 0;
  for (const auto& [key, module] : method_->modules()) module_count += count_parameters(*module);
  spdlog::info(
      "method {} (lr {:g}): backbone {} ({} parameters, feature {}), {} parameters "
      "beside it, {} view(s) per image, {} backbone inputs per step",
      method_->name(), lr, backbone_->name(), count_parameters(*backbone_),
      backbone_->feature_size(), module_count, views, inputs_per_step_ / world_);
}

// Weights, the method's modules, optimizer state and position from checkpoint.pt.
void Trainer::restore() {
  Checkpoint ck = load_checkpoint(checkpoint_path_);
  const std::string what = "checkpoint '" + checkpoint_path_ + "'";
  const std::string saved_backbone = ck.meta.value("backbone", "");
  if (saved_backbone != config_.model.backbone) {
    throw std::runtime_error("--resume: '" + checkpoint_path_ + "' holds backbone '" +
                             saved_backbone + "', the config asks for '" + config_.model.backbone +
                             "'");
  }
  const std::string saved_method = ck.meta.value("method", "relational");
  if (saved_method != method_->name()) {
    throw std::runtime_error("--resume: '" + checkpoint_path_ + "' was trained with method '" +
                             saved_method + "', the config asks for '" + method_->name() + "'");
  }
  require_finite_checkpoint(ck, checkpoint_path_,
                            "it cannot be resumed; resume from an earlier epoch_<E>.pt copied to "
                            "checkpoint.pt, or restart");
  load_state_dict(*backbone_, ck.backbone, what + " (backbone)");
  for (const auto& [key, module] : method_->modules()) {
    const StateDict* saved = ck.module(key);
    if (!saved) throw std::runtime_error(what + " has no '" + key + "' entry");
    load_state_dict(*module, *saved, what + " (" + key + ")");
  }
  if (!ck.optimizer) {
    throw std::runtime_error("--resume: '" + checkpoint_path_ + "' has no optimizer state");
  }
  optimizer_state_from_ivalue(*optimizer_, *ck.optimizer, what);
  start_epoch_ = ck.meta.value("epoch", int64_t{0});
  start_step_ = ck.meta.value("step_in_epoch", int64_t{0});
  global_step_ = ck.meta.value("global_step", int64_t{0});
  if (start_step_ >= steps_per_epoch_) {
    ++start_epoch_;
    start_step_ = 0;
  }
  spdlog::info("resuming from '{}': epoch {}, step {} (global step {})", checkpoint_path_,
               start_epoch_ + 1, start_step_, global_step_);
}

// Refuses, before the first step, a configuration whose step would not fit
// in the memory left (unless forced): the estimate of train/memory.h.
void Trainer::check_memory() const {
  StepShape shape;
  shape.backbone = config_.model.backbone;
  shape.fused = config_.model.fused;
  shape.device = device_;
  shape.method = method_->name();
  shape.views = method_->views_per_image();
  shape.inputs = method_->inputs_per_image();
  shape.batch_size = B_;
  shape.side = data_.side();
  shape.feature_size = backbone_->feature_size();
  shape.head_hidden = config_.model.head_hidden;
  shape.pairs_matrix = config_.model.pairs_matrix;
  for (const auto& p : state_) {
    if (p.requires_grad()) shape.parameters += p.numel();
  }
  shape.optimizer_slots = dynamic_cast<torch::optim::SGD*>(optimizer_.get()) ? 1 : 2;
  shape.prefetch = workers_ > 0 ? config_.data.prefetch : 0;
  const StepMemory need = estimate_step_memory(shape);
  const AvailableMemory available = available_memory(device_);
  // Ranks on one machine share its memory (and, on one GPU, the GPU's).
  const int64_t processes = device_.is_cuda() ? 1 : local_world_size();
  // The weights are resident already: the peak is what the process holds
  // now plus the rest of the step (compared with the measured peak RSS in
  // docs/PERFORMANCE.md).
  const int64_t resident = resident_bytes();
  spdlog::info(
      "memory: a step needs about {} (activations {}, method {}); {} available ({}){}",
      format_bytes(need.total()), format_bytes(need.activations), format_bytes(need.method),
      available.bytes < 0 ? std::string("unknown") : format_bytes(available.bytes),
      available.bytes < 0 ? std::string("not readable") : available.source,
      device_.is_cpu() && resident > 0 ? fmt::format("; expected peak RSS {} MiB",
                                                     (resident + need.total() - need.weights) >> 20)
                                       : std::string());
  const std::string refusal = memory_refusal(need, processes, available, shape);
  if (refusal.empty()) return;
  if (!force_) throw std::runtime_error(refusal);
  spdlog::warn("--force: starting although {}", refusal);
}

void Trainer::start_writing() {
  if (!writer_) return;
  write_file_atomic(dir_ + "/config.json", config_to_json(config_).dump(2) + "\n");
  // Steps logged after the checkpoint was saved are redone now: their
  // records go, so every epoch and step appears once.
  const std::string metrics_path = dir_ + "/metrics.jsonl";
  if (resume_) {
    const int64_t dropped = drop_metrics_after(metrics_path, start_epoch_, start_step_);
    if (dropped > 0) {
      spdlog::info("dropped {} record(s) of '{}' past the checkpoint (redone now)", dropped,
                   metrics_path);
    }
  }
  metrics_.emplace(metrics_path, /*append=*/resume_);
}

// One epoch from its first (or resumed) step; false when interrupted
// (checkpoint.pt then holds the position).
bool Trainer::run_epoch(int64_t epoch) {
  const int64_t first = epoch == start_epoch_ ? start_step_ : 0;
  method_->start_epoch(epoch, tc_.epochs, first > 0, *optimizer_);
  backbone_->train();
  for (const auto& [key, module] : method_->modules()) module->train();
  batcher_->start_epoch(epoch, first);
  epoch_window_ = log_window_ = Window(metric_infos_.size());
  ProgressBar bar("epoch " + std::to_string(epoch + 1) + "/" + std::to_string(tc_.epochs),
                  steps_per_epoch_);
  int64_t step = first;
  while (true) {
    const auto t_wait = Clock::now();
    std::optional<ViewBatch> batch = batcher_->next();
    if (!batch) break;
    const bool stop = take_step(*batch, epoch, step, seconds_since(t_wait));
    ++step;
    ++global_step_;
    const bool log_now = global_step_ % tc_.log_interval == 0 || step == steps_per_epoch_;
    if (log_now || stop) flush_pending();  // checked before anything is logged or saved
    if (bar.enabled() && epoch_window_.steps > 0) {
      bar.update(step,
                 fmt::format("{} | {:.0f} img/s", epoch_window_.text(metric_infos_),
                             epoch_window_.images_per_s()),
                 eta());
    }
    if (log_now) log_step(epoch, step);
    if (stop) {
      bar.finish();
      if (writer_) {
        save(epoch, step);
        spdlog::warn("interrupted at epoch {}, step {}: saved '{}'", epoch + 1, step,
                     checkpoint_path_);
      }
      return false;
    }
  }
  bar.finish();
  return true;
}

// Forward, backward and the optimizer step for one batch; the step's figures
// are accounted now, or kept on the GPU for later (defer_). Returns whether
// training must stop after this step (Ctrl-C on any rank).
bool Trainer::take_step(const ViewBatch& batch, int64_t epoch, int64_t step, double wait_s) {
  MethodBatch input{batch.views.to(device_, /*non_blocking=*/true), batch.images, epoch,
                    batch.index};
  const StepOutput out = step_->forward_backward(input);
  const torch::Tensor stats =  // (1 + M) float64: the loss, then the metrics
      torch::cat({out.loss.to(torch::kFloat64).view(1), out.metrics.to(torch::kFloat64)});
  bool stop = stop_requested();
  if (defer_) {
    pending_.push_back({stats, epoch, step, global_step_, wait_s});
    optimizer_->step();
    return stop;
  }
  const torch::Tensor cpu = stats.to(torch::kCPU).contiguous();
  std::vector<double> values(cpu.data_ptr<double>(), cpu.data_ptr<double>() + cpu.numel());
  if (group_) {
    head_reduction_.wait();
    group_->average_gradients(backbone_params_);
    // BatchNorm's running statistics (updated by this forward pass from
    // each rank's own batch) follow rank 0's, as in DistributedDataParallel;
    // between steps every rank then holds the same state.
    group_->broadcast(buffers_);
    // One small allreduce: the mean loss and metrics, and whether any rank
    // was asked to stop, so that every rank decides alike.
    values.push_back(stop ? 1.0 : 0.0);
    std::vector<double> sums = group_->all_sum(values);
    stop = sums.back() > 0;
    sums.pop_back();
    for (auto& v : sums) v /= world_;
    values = sums;
  }
  if (!std::isfinite(values[0])) {
    fail_nonfinite("loss became " + std::to_string(values[0]), epoch, step, global_step_);
  }
  optimizer_->step();
  epoch_window_.add(values.data(), inputs_per_step_, wait_s);
  log_window_.add(values.data(), inputs_per_step_, wait_s);
  return stop;
}

// Reads the deferred steps' figures (CUDA), failing at the first non-finite loss.
void Trainer::flush_pending() {
  if (pending_.empty()) return;
  std::vector<torch::Tensor> rows;
  for (const auto& p : pending_) rows.push_back(p.stats);
  const torch::Tensor all = torch::stack(rows).to(torch::kCPU).contiguous();
  const int64_t width = all.size(1);
  for (size_t i = 0; i < pending_.size(); ++i) {
    const double* r = all.data_ptr<double>() + static_cast<int64_t>(i) * width;
    if (!std::isfinite(r[0])) {
      fail_nonfinite("loss became " + std::to_string(r[0]), pending_[i].epoch, pending_[i].step,
                     pending_[i].global_step);
    }
    epoch_window_.add(r, inputs_per_step_, pending_[i].wait_s);
    log_window_.add(r, inputs_per_step_, pending_[i].wait_s);
  }
  pending_.clear();
}

double Trainer::eta() const {
  const double done = static_cast<double>(global_step_ - first_global_);
  return done > 0
             ? seconds_since(t_train_) / done * static_cast<double>(total_steps_ - global_step_)
             : 0;
}

// The interval's log line and metrics.jsonl step record.
void Trainer::log_step(int64_t epoch, int64_t step) {
  log_periodic(fmt::format("epoch {}/{} step {}/{} | {} | {:.0f} img/s | ETA {}", epoch + 1,
                           tc_.epochs, step, steps_per_epoch_, log_window_.text(metric_infos_),
                           log_window_.images_per_s(), format_duration(eta())));
  json rec = log_window_.record(metric_infos_);
  rec["kind"] = "step";
  rec["epoch_progress"] = static_cast<double>(epoch) +
                          static_cast<double>(step) / static_cast<double>(steps_per_epoch_);
  rec["epoch"] = epoch + 1;
  rec["step"] = step;
  rec["global_step"] = global_step_;
  if (group_) rec["rank_param_hashes"] = rank_hashes();
  if (metrics_) metrics_->write(rec);
  log_window_ = Window(metric_infos_.size());
}

// The epoch's line, record, curves and checkpoints.
void Trainer::finish_epoch(int64_t epoch) {
  json rec = epoch_window_.record(metric_infos_);
  summary_.epochs_completed = epoch + 1;
  summary_.global_step = global_step_;
  summary_.last_epoch_loss = rec["loss"].get<double>();
  summary_.last_epoch_accuracy = rec.value("accuracy", std::nan(""));
  summary_.last_epoch_text = epoch_window_.text(metric_infos_);
  spdlog::info("epoch {}/{} done in {} | {} | {:.0f} img/s", epoch + 1, tc_.epochs,
               format_duration(rec["seconds"].get<double>()), summary_.last_epoch_text,
               rec["images_per_s"].get<double>());
  rec["kind"] = "epoch";
  rec["epoch"] = epoch + 1;
  rec["global_step"] = global_step_;
  // Checked at every epoch's end: what rank 0 saves is what every rank holds.
  if (group_) rec["rank_param_hashes"] = rank_hashes();
  if (!writer_) return;
  run_monitor(epoch, rec);
  metrics_->write(rec);
  if (image_io_available()) try {
      write_curves_png(dir_ + "/curves.png", {read_run_curves(dir_)});
    } catch (const std::exception& e) {
      spdlog::warn("could not draw '{}/curves.png': {}", dir_, e.what());  // training goes on
    }
  if ((epoch + 1) % tc_.checkpoint_interval == 0 || epoch + 1 == tc_.epochs) {
    save(epoch + 1, 0);
    spdlog::info("saved '{}/checkpoint.pt' and '{}/backbone.pt'", dir_, dir_);
  }
  save_epoch_checkpoint(dir_, tc_, epoch + 1,
                        full_checkpoint(checkpoint_meta(config_, backbone_->feature_size(),
                                                        data_.side(), epoch + 1, 0, global_step_)));
}

// The monitor's reading after `epoch` (0-based) when one is due, added to
// the epoch's record; the backbone goes back to training mode.
void Trainer::run_monitor(int64_t epoch, json& record) {
  if (!monitor_ || tc_.monitor_every <= 0) return;
  if ((epoch + 1) % tc_.monitor_every != 0 && epoch + 1 != tc_.epochs) return;
  const auto t0 = Clock::now();
  backbone_->eval();
  const MonitorReading reading = monitor_->measure(*backbone_);
  backbone_->train();
  record.update(reading.fields);
  record["monitor_seconds"] = seconds_since(t0);
  spdlog::info("epoch {}/{} monitors | {} | {:.2f} s", epoch + 1, tc_.epochs, reading.text,
               record["monitor_seconds"].get<double>());
}

Checkpoint Trainer::full_checkpoint(const json& meta) const {
  Checkpoint full;
  full.backbone = state_dict(*backbone_);
  for (const auto& [key, module] : method_->modules()) {
    full.modules.emplace_back(key, state_dict(*module));
  }
  full.optimizer = optimizer_state_to_ivalue(*optimizer_);
  full.meta = meta;
  return full;
}

// checkpoint.pt (everything, for --resume) and backbone.pt (what evaluation reads).
void Trainer::save(int64_t epoch, int64_t step_in_epoch) {
  const json meta = checkpoint_meta(config_, backbone_->feature_size(), data_.side(), epoch,
                                    step_in_epoch, global_step_);
  const Checkpoint full = full_checkpoint(meta);
  // A finite loss does not make finite weights: an optimizer step can still
  // leave a weight or its state at inf/NaN. Such a model is never saved.
  const std::string nonfinite = first_nonfinite_tensor(full);
  if (!nonfinite.empty()) {
    fail_nonfinite("the model became non-finite (" + nonfinite + ")",
                   step_in_epoch > 0 ? epoch : epoch - 1,
                   step_in_epoch > 0 ? step_in_epoch - 1 : steps_per_epoch_ - 1, global_step_ - 1);
  }
  save_checkpoint(checkpoint_path_, full);
  Checkpoint slim;
  slim.backbone = full.backbone;
  slim.meta = meta;
  save_checkpoint(dir_ + "/backbone.pt", slim);
}

// Every rank's hash of the weights and buffers; training stops when they differ.
json Trainer::rank_hashes() {
  const auto hashes = group_->all_gather(static_cast<int64_t>(tensors_hash(state_)));
  json out = json::array();
  for (int64_t h : hashes) out.push_back(fmt::format("{:016x}", static_cast<uint64_t>(h)));
  for (int64_t h : hashes) {
    if (h != hashes[0]) {
      throw std::runtime_error("the ranks' parameters differ (hashes " + out.dump() +
                               "): data-parallel training is out of step");
    }
  }
  return out;
}

void Trainer::fail_nonfinite(const std::string& what, int64_t epoch, int64_t step,
                             int64_t global_step) const {
  std::string last_good = "no checkpoint has been saved yet: lower train.lr and restart";
  if (std::filesystem::exists(checkpoint_path_)) {
    try {
      last_good =
          "the last good checkpoint is '" + checkpoint_path_ + "' (epoch " +
          std::to_string(load_checkpoint(checkpoint_path_).meta.value("epoch", int64_t{0})) +
          "): lower train.lr and continue from it with --resume";
    } catch (const std::exception&) {
      last_good = "'" + checkpoint_path_ + "' is not readable: lower train.lr and restart";
    }
  }
  throw std::runtime_error(what + " at epoch " + std::to_string(epoch + 1) + ", step " +
                           std::to_string(step + 1) + " (global step " +
                           std::to_string(global_step + 1) + "); nothing of this step was saved; " +
                           last_good);
}

}  // namespace

TrainSummary train(const Config& config, bool resume, ProcessGroup* group, EpochMonitor* monitor,
                   bool force) {
  return Trainer(config, resume, group, monitor, force).run();
}

}  // namespace relnet
