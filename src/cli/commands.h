// The subcommands of the relnet executable: each has setup_x (declares its
// options on the CLI11 app) and returns the exit code from its callback.
#pragma once

#include <CLI/CLI.hpp>

#include <string>

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
};

// Each setup_x registers the subcommand and stores its exit code in `exit_code`.
void setup_train(CLI::App& app, int& exit_code);
void setup_linear_eval(CLI::App& app, int& exit_code);
void setup_download(CLI::App& app, int& exit_code);
void setup_data(CLI::App& app, int& exit_code);
void setup_bench(CLI::App& app, int& exit_code);

}  // namespace relnet::cli
