// The subcommands of the relnet executable: each has setup_x (declares its
// options on the CLI11 app) and returns the exit code from its callback.
#pragma once

#include <CLI/CLI.hpp>
#include <string>

#include "relnet/eval/features.h"

namespace relnet::cli {

// Exit codes: 0 ok, 1 bad input or failure, 2 usage, 130 interrupted.
inline constexpr int kExitOk = 0;
inline constexpr int kExitFailure = 1;
inline constexpr int kExitUsage = 2;
inline constexpr int kExitInterrupted = 130;

// Options every command shares.
struct CommonOptions {
  std::string log_level = "info";
  bool quiet = false;
  std::string progress = "auto";
};

// Each setup_x registers the subcommand and stores its exit code in `exit_code`.
void setup_train(CLI::App& app, int& exit_code);
void setup_linear_eval(CLI::App& app, int& exit_code);
void setup_download(CLI::App& app, int& exit_code);
void setup_data(CLI::App& app, int& exit_code);
void setup_bench(CLI::App& app, int& exit_code);
void setup_knn(CLI::App& app, int& exit_code);
void setup_retrieval(CLI::App& app, int& exit_code);
void setup_test(CLI::App& app, int& exit_code);
void setup_finetune(CLI::App& app, int& exit_code);
void setup_inspect(CLI::App& app, int& exit_code);
void setup_config(CLI::App& app, int& exit_code);
void setup_info(CLI::App& app, int& exit_code);
void setup_plot(CLI::App& app, int& exit_code);
void setup_preview_augment(CLI::App& app, int& exit_code);
void setup_completion(CLI::App& app, int& exit_code);
void setup_launch(CLI::App& app, int& exit_code);
void setup_compare(CLI::App& app, int& exit_code);
void setup_embed(CLI::App& app, int& exit_code);

// Declares the flags of EvalSource (--checkpoint, --dataset, --data-root,
// --train-subset, --test-subset, --device, --threads, --random-init, --seed)
// on an evaluation command; without `training_flags` (relnet test, which
// trains nothing) --train-subset, --random-init and --seed are left out.
void add_eval_source_options(CLI::App* cmd, EvalSource& source, bool training_flags = true);

}  // namespace relnet::cli
