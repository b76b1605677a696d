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

#include "relnet/augment/pipeline.h"
#include "relnet/data/dataset.h"
#include "relnet/data/loader.h"
#include "relnet/models/backbone.h"
#include "relnet/relation/head.h"
#include "relnet/relation/loss.h"
#include "relnet/relation/pairs.h"
#include "relnet/train/checkpoint.h"
#include "relnet/train/curves.h"
#include "relnet/train/distributed.h"
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

// Running sums over a window of steps.
struct Window {
  double loss = 0, acc = 0, pos = 0, neg = 0, wait = 0;
  int64_t steps = 0, images = 0;
  Clock::time_point start = Clock::now();
  void add(double l, const PairAccuracy& a, int64_t views, double wait_s) {
    loss += l;
    acc += a.all;
    pos += a.positive;
    neg += a.negative;
    wait += wait_s;
    images += views;
    ++steps;
  }
  json record() const {
    const double n = static_cast<double>(std::max<int64_t>(steps, 1));
    const double elapsed = seconds_since(start);
    return json{{"loss", loss / n},
                {"accuracy", acc / n},
                {"accuracy_positive", pos / n},
                {"accuracy_negative", neg / n},
                {"images_per_s", elapsed > 0 ? images / elapsed : 0.0},
                {"data_wait_s", wait},
                {"seconds", elapsed}};
  }
};

Checkpoint full_checkpoint(const Backbone& backbone, RelationHead& head,
                           torch::optim::Adam& optimizer, const json& meta) {
  Checkpoint full;
  full.backbone = state_dict(*backbone);
  full.relation = state_dict(*head);
  full.optimizer = adam_state_to_ivalue(optimizer);
  full.meta = meta;
  return full;
}

void save_all(const std::string& dir, const Config& config, const Backbone& backbone,
              RelationHead& head, torch::optim::Adam& optimizer, const json& meta) {
  const Checkpoint full = full_checkpoint(backbone, head, optimizer, meta);
  save_checkpoint(dir + "/checkpoint.pt", full);
  Checkpoint slim;
  slim.backbone = full.backbone;
  slim.meta = meta;
  save_checkpoint(dir + "/backbone.pt", slim);
}

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
                           const Backbone& backbone, RelationHead& head,
                           torch::optim::Adam& optimizer, const json& meta) {
  if (tc.epoch_checkpoints <= 0 || epoch % tc.epoch_checkpoints != 0) return;
  const std::string path = dir + "/epoch_" + std::to_string(epoch) + ".pt";
  save_checkpoint(path, full_checkpoint(backbone, head, optimizer, meta));
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
              {"feature_size", feature_size},
              {"dataset", config.data.dataset},
              {"image_side", image_side},
              {"normalization", {{"mean", norm.mean}, {"std", norm.std}}},
              {"epoch", epoch},
              {"step_in_epoch", step_in_epoch},
              {"global_step", global_step},
              {"config", config_to_json(config)}};
}

TrainSummary train(const Config& config, bool resume, ProcessGroup* group) {
  const auto t_start = Clock::now();
  const TrainConfig& tc = config.train;
  TrainSummary summary;
  summary.run_dir = run_dir(config);
  const std::string& dir = summary.run_dir;
  const std::string checkpoint_path = dir + "/checkpoint.pt";
  if (resume && !std::filesystem::exists(checkpoint_path)) {
    throw std::runtime_error("--resume: no checkpoint at '" + checkpoint_path +
                             "' (train once without --resume first)");
  }
  // Data parallelism: rank r of w trains on its shard; rank 0 alone writes.
  const int rank = group ? group->rank() : 0;
  const int world = group ? group->world_size() : 1;
  const bool writer = rank == 0;
  if (writer) ensure_directory(dir);

  const torch::Device device = resolve_device(tc.device);
  if (device.is_cuda()) configure_cudnn(tc.deterministic);
  // Processes on one machine share its cores.
  const int cores = std::max(1, hardware_threads() / local_world_size());
  const int threads = set_threads(tc.threads > 0 ? tc.threads : cores);
  const int64_t workers = augmentation_workers(config.data.workers, device.is_cuda(), cores);
  spdlog::info("device {}, {} intra-op threads, {}{}", device.str(), threads,
               workers > 0 ? fmt::format("{} augmentation workers", workers)
                           : std::string("augmentation on the intra-op threads"),
               world > 1 ? fmt::format(", rank {} of {} (effective batch {} = {} x {})", rank, world,
                                       tc.batch_size * world, tc.batch_size, world)
                         : std::string());

  const auto t_load = Clock::now();
  const Split split = config.data.split == "auto" ? default_train_split(config.data.dataset)
                                                   : parse_split(config.data.split);
  ImageDataset data = load_dataset(config.data.dataset, config.data.root, split,
                                   config.data.subset, config.data.image_size);
  const int64_t side = data.side();
  spdlog::info("dataset {} ({}): {} {} images of {}x{}, loaded in {:.2f} s", data.name,
               config.data.root, data.size(), to_string(split), side, side,
               seconds_since(t_load));
  const Normalization norm = effective_normalization(config.data);
  const ViewAugmenter augmenter(config.augment, norm, side);
  const int64_t K = config.augment.K;
  const int64_t B = tc.batch_size;
  ViewBatcher batcher(data, augmenter, K, B, static_cast<uint64_t>(tc.seed), workers,
                      config.data.prefetch, rank, world, /*pin_memory=*/device.is_cuda());
  const int64_t steps_per_epoch = batcher.batches_per_epoch();

  torch::manual_seed(static_cast<uint64_t>(tc.seed));
  Backbone backbone = make_backbone(config.model.backbone);
  const Aggregation aggregation = parse_aggregation(config.model.aggregation);
  const LossOptions loss_options{parse_loss(config.model.loss), config.model.focal_gamma,
                                 config.model.focal_alpha};
  RelationHead head(aggregated_size(aggregation, backbone->feature_size()), config.model.head_hidden);
  backbone->set_fused(config.model.fused);
  head->set_fused(config.model.fused);
  backbone->to(device);
  head->to(device);
  std::vector<torch::Tensor> params = backbone->parameters();
  for (const auto& p : head->parameters()) params.push_back(p);
  torch::optim::Adam optimizer(params, torch::optim::AdamOptions(tc.lr));
  // Every view is projected once by the head's first layer instead of
  // building the K(K-1)B-row pairs matrix (unless model.pairs_matrix): same
  // loss and gradients.
  RelationStep relation_step(backbone, head, K, aggregation, loss_options,
                             config.model.pairs_matrix);
  relation_step.set_bf16(tc.precision == "bf16");
  const std::vector<torch::Tensor> backbone_params = backbone->parameters();
  const std::vector<torch::Tensor> head_params = head->parameters();
  std::vector<torch::Tensor> buffers = backbone->buffers();
  for (const auto& b : head->buffers()) buffers.push_back(b);
  std::vector<torch::Tensor> state = params;  // what must stay identical on every rank
  state.insert(state.end(), buffers.begin(), buffers.end());
  ProcessGroup::PendingGradients head_reduction;
  if (group) {
    // The head's gradients are final before the backbone's backward pass
    // starts: reduce them meanwhile.
    relation_step.on_head_gradients_ready(
        [&] { head_reduction = group->average_gradients_async(head_params); });
  }
  spdlog::info("backbone {} ({} parameters, feature {}), relation head {} parameters, {} pairs/step",
               backbone->name(), count_parameters(*backbone), backbone->feature_size(),
               count_parameters(*head), K * (K - 1) * B);

  int64_t start_epoch = 0, start_step = 0, global_step = 0;
  if (resume) {
    Checkpoint ck = load_checkpoint(checkpoint_path);
    const std::string saved_backbone = ck.meta.value("backbone", "");
    if (saved_backbone != config.model.backbone) {
      throw std::runtime_error("--resume: '" + checkpoint_path + "' holds backbone '" +
                               saved_backbone + "', the config asks for '" +
                               config.model.backbone + "'");
    }
    load_state_dict(*backbone, ck.backbone, "checkpoint '" + checkpoint_path + "' (backbone)");
    load_state_dict(*head, ck.relation, "checkpoint '" + checkpoint_path + "' (relation)");
    if (!ck.optimizer) {
      throw std::runtime_error("--resume: '" + checkpoint_path + "' has no optimizer state");
    }
    adam_state_from_ivalue(optimizer, *ck.optimizer, "checkpoint '" + checkpoint_path + "'");
    start_epoch = ck.meta.value("epoch", int64_t{0});
    start_step = ck.meta.value("step_in_epoch", int64_t{0});
    global_step = ck.meta.value("global_step", int64_t{0});
    if (start_step >= steps_per_epoch) {
      ++start_epoch;
      start_step = 0;
    }
    spdlog::info("resuming from '{}': epoch {}, step {} (global step {})", checkpoint_path,
                 start_epoch + 1, start_step, global_step);
  }

  if (group) {
    group->broadcast(state);  // every rank starts from rank 0's weights and buffers
    spdlog::info("{} ranks joined; parameters broadcast from rank 0", world);
  }
  if (writer) {
    json effective = config_to_json(config);
    write_file_atomic(dir + "/config.json", effective.dump(2) + "\n");
  }
  std::optional<MetricsWriter> metrics;
  if (writer) metrics.emplace(dir + "/metrics.jsonl", /*append=*/resume);
  // Every rank's hash of the weights and buffers; training stops when they differ.
  auto rank_hashes = [&]() -> json {
    const auto hashes = group->all_gather(static_cast<int64_t>(tensors_hash(state)));
    json out = json::array();
    for (int64_t h : hashes) out.push_back(fmt::format("{:016x}", static_cast<uint64_t>(h)));
    for (int64_t h : hashes) {
      if (h != hashes[0]) {
        throw std::runtime_error("the ranks' parameters differ (hashes " + out.dump() +
                                 "): data-parallel training is out of step");
      }
    }
    return out;
  };

  summary.epochs_completed = start_epoch;
  summary.global_step = global_step;
  if (start_epoch >= tc.epochs) {
    spdlog::info("nothing to do: the checkpoint has completed {} of {} epochs", start_epoch,
                 tc.epochs);
    summary.already_complete = true;
    summary.seconds = seconds_since(t_start);
    return summary;
  }

  // On CUDA, reading the loss every step would make the host wait for the
  // GPU at every step: single-process CUDA runs keep each step's loss and
  // pair counts on the device and read them at log steps, epoch ends and
  // before any save (a non-finite loss is then reported for its own step,
  // and nothing after it is saved).
  const bool defer = device.is_cuda() && !group;
  struct PendingStep {
    torch::Tensor stats;  // (6) float64: loss, then pair_accuracy_counts
    int64_t epoch, step, global_step;
    double wait_s;
  };
  std::vector<PendingStep> pending;
  auto fail_nonfinite = [&](double loss_value, int64_t ep, int64_t st, int64_t gs) {
    std::string last_good = "no checkpoint has been saved yet: lower train.lr and restart";
    if (std::filesystem::exists(checkpoint_path)) {
      try {
        last_good = "the last good checkpoint is '" + checkpoint_path + "' (epoch " +
                    std::to_string(load_checkpoint(checkpoint_path).meta.value("epoch", int64_t{0})) +
                    "): lower train.lr and continue from it with --resume";
      } catch (const std::exception&) {
        last_good = "'" + checkpoint_path + "' is not readable: lower train.lr and restart";
      }
    }
    throw std::runtime_error("loss became " + std::to_string(loss_value) + " at epoch " +
                             std::to_string(ep + 1) + ", step " + std::to_string(st + 1) +
                             " (global step " + std::to_string(gs + 1) +
                             "); nothing of this step was saved; " + last_good);
  };
  const int64_t total_steps = tc.epochs * steps_per_epoch;
  const int64_t first_global = start_epoch * steps_per_epoch + start_step;
  const auto t_train = Clock::now();
  for (int64_t epoch = start_epoch; epoch < tc.epochs; ++epoch) {
    backbone->train();
    head->train();
    batcher.start_epoch(epoch, epoch == start_epoch ? start_step : 0);
    Window epoch_window, log_window;
    int64_t step = epoch == start_epoch ? start_step : 0;
    auto flush_pending = [&] {
      if (pending.empty()) return;
      std::vector<torch::Tensor> rows;
      for (const auto& p : pending) rows.push_back(p.stats);
      const torch::Tensor all = torch::stack(rows).to(torch::kCPU).contiguous();
      for (size_t i = 0; i < pending.size(); ++i) {
        const double* r = all.data_ptr<double>() + i * 6;
        if (!std::isfinite(r[0])) {
          fail_nonfinite(r[0], pending[i].epoch, pending[i].step, pending[i].global_step);
        }
        const PairAccuracy a = pair_accuracy_from_counts(r + 1);
        epoch_window.add(r[0], a, K * B * world, pending[i].wait_s);
        log_window.add(r[0], a, K * B * world, pending[i].wait_s);
      }
      pending.clear();
    };
    ProgressBar bar("epoch " + std::to_string(epoch + 1) + "/" + std::to_string(tc.epochs),
                    steps_per_epoch);
    while (true) {
      const auto t_wait = Clock::now();
      std::optional<ViewBatch> batch = batcher.next();
      if (!batch) break;
      const double wait_s = seconds_since(t_wait);

      const torch::Tensor views = batch->views.to(device, /*non_blocking=*/true);
      const StepOutput out = relation_step.forward_backward(views);  // loss, (P) logits
      bool stop = stop_requested();
      if (defer) {
        // The step's figures stay on the GPU until the next log step.
        pending.push_back({torch::cat({out.loss.detach().to(torch::kFloat64).view(1),
                                       pair_accuracy_counts(out.logits, out.targets)}),
                           epoch, step, global_step, wait_s});
        optimizer.step();
        ++step;
        ++global_step;
      } else {
      double loss_value = out.loss.item<double>();
      PairAccuracy acc = pair_accuracy(out.logits, out.targets);
      if (group) {
        head_reduction.wait();
        group->average_gradients(backbone_params);
        // BatchNorm's running statistics (updated by this forward pass from
        // each rank's own batch) follow rank 0's, as in DistributedDataParallel;
        // between steps every rank then holds the same state.
        group->broadcast(buffers);
        // One small allreduce: the mean loss and accuracy, and whether any
        // rank was asked to stop, so that every rank decides alike.
        const auto v = group->all_sum({loss_value, acc.all, acc.positive, acc.negative, stop ? 1.0 : 0.0});
        loss_value = v[0] / world;
        acc.all = v[1] / world;
        acc.positive = v[2] / world;
        acc.negative = v[3] / world;
        stop = v[4] > 0;
      }
      if (!std::isfinite(loss_value)) fail_nonfinite(loss_value, epoch, step, global_step);
      optimizer.step();
      ++step;
      ++global_step;
      epoch_window.add(loss_value, acc, K * B * world, wait_s);
      log_window.add(loss_value, acc, K * B * world, wait_s);
      }

      const bool log_now = global_step % tc.log_interval == 0 || step == steps_per_epoch;
      if (log_now || stop) flush_pending();  // checked before anything is logged or saved
      const double done = static_cast<double>(global_step - first_global);
      const double eta = done > 0 ? seconds_since(t_train) / done * (total_steps - global_step) : 0;
      if (bar.enabled() && epoch_window.steps > 0) {
        const json r = epoch_window.record();
        bar.update(step,
                   fmt::format("loss {:.4f} acc {:.3f} (pos {:.3f} neg {:.3f}) | {:.0f} img/s",
                               r["loss"].get<double>(), r["accuracy"].get<double>(),
                               r["accuracy_positive"].get<double>(),
                               r["accuracy_negative"].get<double>(),
                               r["images_per_s"].get<double>()),
                   eta);
      }
      if (log_now) {
        json rec = log_window.record();
        log_periodic(fmt::format(
            "epoch {}/{} step {}/{} | loss {:.4f} acc {:.3f} (pos {:.3f} neg {:.3f}) | {:.0f} img/s "
            "| ETA {}",
            epoch + 1, tc.epochs, step, steps_per_epoch, rec["loss"].get<double>(),
            rec["accuracy"].get<double>(), rec["accuracy_positive"].get<double>(),
            rec["accuracy_negative"].get<double>(), rec["images_per_s"].get<double>(),
            format_duration(eta)));
        rec["kind"] = "step";
        rec["epoch_progress"] =
            static_cast<double>(epoch) + static_cast<double>(step) / static_cast<double>(steps_per_epoch);
        rec["epoch"] = epoch + 1;
        rec["step"] = step;
        rec["global_step"] = global_step;
        if (group) rec["rank_param_hashes"] = rank_hashes();
        if (metrics) metrics->write(rec);
        log_window = Window();
      }
      if (stop) {
        bar.finish();
        if (writer) {
          save_all(dir, config, backbone, head, optimizer,
                   checkpoint_meta(config, backbone->feature_size(), side, epoch, step, global_step));
        }
        summary.interrupted = true;
        summary.global_step = global_step;
        summary.seconds = seconds_since(t_start);
        if (writer) {
          spdlog::warn("interrupted at epoch {}, step {}: saved '{}'", epoch + 1, step,
                       checkpoint_path);
        }
        return summary;
      }
    }

    bar.finish();
    json rec = epoch_window.record();
    summary.epochs_completed = epoch + 1;
    summary.global_step = global_step;
    summary.last_epoch_loss = rec["loss"].get<double>();
    summary.last_epoch_accuracy = rec["accuracy"].get<double>();
    spdlog::info("epoch {}/{} done in {} | loss {:.4f} acc {:.3f} (pos {:.3f} neg {:.3f}) | {:.0f} img/s",
                 epoch + 1, tc.epochs, format_duration(rec["seconds"].get<double>()),
                 summary.last_epoch_loss, summary.last_epoch_accuracy,
                 rec["accuracy_positive"].get<double>(), rec["accuracy_negative"].get<double>(),
                 rec["images_per_s"].get<double>());
    rec["kind"] = "epoch";
    rec["epoch"] = epoch + 1;
    rec["global_step"] = global_step;
    // Checked at every epoch's end: what rank 0 saves is what every rank holds.
    if (group) rec["rank_param_hashes"] = rank_hashes();
    if (!writer) continue;
    metrics->write(rec);
    if (image_io_available()) try {
      write_curves_png(dir + "/curves.png", {read_run_curves(dir)});
    } catch (const std::exception& e) {
      spdlog::warn("could not draw '{}/curves.png': {}", dir, e.what());  // training goes on
    }
    const json meta = checkpoint_meta(config, backbone->feature_size(), side, epoch + 1, 0, global_step);
    if ((epoch + 1) % tc.checkpoint_interval == 0 || epoch + 1 == tc.epochs) {
      save_all(dir, config, backbone, head, optimizer, meta);
      spdlog::info("saved '{}/checkpoint.pt' and '{}/backbone.pt'", dir, dir);
    }
    save_epoch_checkpoint(dir, tc, epoch + 1, backbone, head, optimizer, meta);
  }
  summary.seconds = seconds_since(t_start);
  return summary;
}

}  // namespace relnet
