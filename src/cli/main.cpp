// relnet: self-supervised relational reasoning for representation learning.
// main() only wires the subcommands; each lives in its own file.
#include <spdlog/spdlog.h>

#include <iostream>

#include "commands.h"
#include "relnet/util/logging.h"
#include "relnet/util/runtime.h"

int main(int argc, char** argv) {
  relnet::prefer_thread_settings(argc, argv);  // may restart the program: first
  relnet::keep_freed_memory();
  relnet::install_stop_handlers();
  relnet::init_logging("info", relnet::ProgressMode::kAuto);

  CLI::App app{
      "relnet: self-supervised relational reasoning (Patacchiola & Storkey, 2020).\n"
      "Train a CNN backbone without labels, then measure what it learned."};
  app.set_version_flag("--version", std::string("relnet ") + RELNET_VERSION);
  app.require_subcommand(1);
  app.fallthrough();  // global options (--quiet, --log-level) also after the subcommand
  relnet::cli::CommonOptions common;
  app.add_option("--log-level", common.log_level, "trace | debug | info | warn | error | off")
      ->capture_default_str()
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error", "off"}));
  app.add_flag("-q,--quiet", common.quiet, "Only warnings and errors");
  app.add_option("--progress", common.progress,
                 "auto (a live bar on a terminal, plain lines otherwise) | bar | lines")
      ->capture_default_str()
      ->check(CLI::IsMember({"auto", "bar", "lines"}));
  app.footer("Exit codes: 0 ok, 1 bad input or failure, 2 usage error, 130 interrupted.");
  app.parse_complete_callback([&] {
    relnet::init_logging(common.quiet ? "warn" : common.log_level,
                         relnet::parse_progress_mode(common.progress));
  });

  int exit_code = relnet::cli::kExitOk;
  relnet::cli::setup_train(app, exit_code);
  relnet::cli::setup_linear_eval(app, exit_code);
  relnet::cli::setup_knn(app, exit_code);
  relnet::cli::setup_retrieval(app, exit_code);
  relnet::cli::setup_finetune(app, exit_code);
  relnet::cli::setup_test(app, exit_code);
  relnet::cli::setup_inspect(app, exit_code);
  relnet::cli::setup_download(app, exit_code);
  relnet::cli::setup_data(app, exit_code);
  relnet::cli::setup_bench(app, exit_code);
  relnet::cli::setup_config(app, exit_code);
  relnet::cli::setup_info(app, exit_code);
  relnet::cli::setup_plot(app, exit_code);
  relnet::cli::setup_preview_augment(app, exit_code);
  relnet::cli::setup_launch(app, exit_code);
  relnet::cli::setup_compare(app, exit_code);
  relnet::cli::setup_embed(app, exit_code);
  relnet::cli::setup_completion(app, exit_code);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e);
    return code == 0 ? relnet::cli::kExitOk : relnet::cli::kExitUsage;
  } catch (const std::exception& e) {
    spdlog::error("{}", e.what());
    return relnet::cli::kExitFailure;
  }
  return exit_code;
}
