// `relnet train`: the self-supervised phase from a JSON config.
#include <spdlog/spdlog.h>

#include <chrono>
#include <memory>
#include <optional>
#include <vector>

#include "commands.h"
#include "relnet/config.h"
#include "relnet/eval/monitor.h"
#include "relnet/train/distributed.h"
#include "relnet/train/trainer.h"
#include "relnet/util/fs.h"
#include "relnet/util/logging.h"

namespace relnet::cli {
namespace {

struct TrainOptions {
  std::string config;
  std::vector<std::string> overrides;
  bool resume = false;
  bool force = false;
  std::string device;
  int64_t threads = -1;
  std::string out_dir;
};

// The command line that continues this run (same config and overrides).
std::string resume_command(const TrainOptions& opts) {
  std::string cmd = "relnet train --config '" + opts.config + "'";
  for (const auto& o : opts.overrides) cmd += " --set '" + o + "'";
  if (!opts.device.empty()) cmd += " --device " + opts.device;
  if (opts.threads >= 0) cmd += " --threads " + std::to_string(opts.threads);
  if (!opts.out_dir.empty()) cmd += " --out-dir '" + opts.out_dir + "'";
  if (opts.force) cmd += " --force";
  return cmd + " --resume";
}

int train_logged(const TrainOptions& opts, const Config& config, ProcessGroup* group);

int run_train(const TrainOptions& opts) {
  Config config = load_config(opts.config);
  std::vector<std::string> overrides = opts.overrides;
  if (!opts.device.empty()) overrides.push_back("train.device=\"" + opts.device + "\"");
  if (opts.threads >= 0) overrides.push_back("train.threads=" + std::to_string(opts.threads));
  apply_overrides(config, overrides);
  if (!opts.out_dir.empty()) config.train.out_dir = opts.out_dir;

  // Launched as one rank of a data-parallel job (RANK, WORLD_SIZE, ...):
  // join the group first; only rank 0 talks at info level and keeps the log.
  const DistributedEnv env = distributed_env_from_environment();
  std::unique_ptr<ProcessGroup> group;
  if (env.active()) {
    if (env.rank != 0) {
      quiet_console_for_rank(env.rank);
    }
    spdlog::info("rank {} of {}: joining the group at {}:{}", env.rank, env.world_size,
                 env.master_addr, env.master_port);
    group = std::make_unique<ProcessGroup>(env, std::chrono::seconds(config.train.dist_timeout_s));
  }
  std::optional<LogFile> log;
  if (env.rank == 0) {
    // The run keeps its own log (appended to on --resume), errors included.
    ensure_directory(run_dir(config));
    log.emplace(run_dir(config) + "/train.log", /*append=*/opts.resume);
  }
  try {
    return train_logged(opts, config, group.get());
  } catch (const std::exception& e) {
    spdlog::error("{}", e.what());
    return kExitFailure;
  }
}

int train_logged(const TrainOptions& opts, const Config& config, ProcessGroup* group) {
  spdlog::info("relnet {} train '{}', effective config: {}", RELNET_VERSION, opts.config,
               config_to_json(config).dump());
  // Rank 0 alone watches the representation (train.monitor_every).
  const std::unique_ptr<EpochMonitor> monitor =
      !group || group->rank() == 0 ? make_representation_monitor(config) : nullptr;
  const TrainSummary s = train(config, opts.resume, group, monitor.get(), opts.force);
  if (s.interrupted) {
    std::string cmd = resume_command(opts);
    if (group) {
      // Every rank resumes together, the way they were started.
      cmd = group->world_size() == local_world_size()
                ? "relnet launch --nproc " + std::to_string(group->world_size()) + " -- " +
                      cmd.substr(std::string("relnet ").size())
                : "your launch command on every node, with: " + cmd;
    }
    if (!group || group->rank() == 0) {
      spdlog::warn("stopped after {} steps; continue with: {}", s.global_step, cmd);
    }
    return kExitInterrupted;
  }
  if (s.already_complete) return kExitOk;
  spdlog::info("done: {} epochs, {} steps in {:.1f} s; last epoch {}", s.epochs_completed,
               s.global_step, s.seconds, s.last_epoch_text);
  spdlog::info(
      "backbone: {}/backbone.pt  (evaluate: relnet linear-eval --checkpoint {}/backbone.pt)",
      s.run_dir, s.run_dir);
  return kExitOk;
}

}  // namespace

void setup_train(CLI::App& app, int& exit_code) {
  auto opts = std::make_shared<TrainOptions>();
  CLI::App* cmd =
      app.add_subcommand("train", "Self-supervised training of a backbone from a JSON config");
  cmd->add_option("-c,--config", opts->config, "JSON config file (see configs/)")->required();
  cmd->add_option("--set", opts->overrides,
                  "Override a config key: --set train.epochs=5 (repeatable)");
  cmd->add_flag("--resume", opts->resume, "Continue from <out_dir>/checkpoint.pt");
  cmd->add_flag("--force", opts->force,
                "Start even when the memory estimate says a step will not fit");
  cmd->add_option("--device", opts->device, "auto | cpu | cuda | cuda:N (overrides train.device)");
  cmd->add_option("--threads", opts->threads,
                  "Intra-op threads, 0 = all cores (overrides train.threads)");
  cmd->add_option("--out-dir", opts->out_dir, "Run directory (overrides train.out_dir)");
  cmd->callback([opts, &exit_code] { exit_code = run_train(*opts); });
}

}  // namespace relnet::cli
