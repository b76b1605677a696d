// `relnet plot RUN_DIR [RUN_DIR...]`: training curves of one or several runs.
#include <spdlog/spdlog.h>

#include <vector>

#include "commands.h"
#include "relnet/train/curves.h"

namespace relnet::cli {

void setup_plot(CLI::App& app, int& exit_code) {
  struct Options {
    std::vector<std::string> runs;
    std::string out = "curves.png";
  };
  auto opts = std::make_shared<Options>();
  CLI::App* cmd = app.add_subcommand(
      "plot", "Draw loss and pair accuracy of one or several runs (overlaid) as a PNG");
  cmd->add_option("runs", opts->runs, "Run directories (each with its metrics.jsonl)")->required();
  cmd->add_option("-o,--out", opts->out, "PNG to write")->capture_default_str();
  cmd->callback([opts, &exit_code] {
    std::vector<RunCurves> runs;
    for (const auto& dir : opts->runs) runs.push_back(read_run_curves(dir));
    write_curves_png(opts->out, runs);
    spdlog::info("curves of {} run(s) -> {}", runs.size(), opts->out);
    exit_code = kExitOk;
  });
}

}  // namespace relnet::cli
