// `relnet inspect FILE`: what a checkpoint holds and where it came from.
#include <iostream>

#include "commands.h"
#include "relnet/train/inspect.h"

namespace relnet::cli {

void setup_inspect(CLI::App& app, int& exit_code) {
  auto file = std::make_shared<std::string>();
  auto json_out = std::make_shared<bool>(false);
  CLI::App* cmd = app.add_subcommand(
      "inspect",
      "Show what a checkpoint holds: entries, network, version, commit, dataset, config");
  cmd->add_option("FILE", *file, "checkpoint.pt, backbone.pt, epoch_<E>.pt or linear.pt")
      ->required();
  cmd->add_flag("--json", *json_out, "Print the description as JSON");
  cmd->callback([file, json_out, &exit_code] {
    const auto report = inspect_checkpoint(*file);
    if (*json_out) {
      std::cout << report.dump(2) << std::endl;
    } else {
      std::cout << format_inspection(report);
    }
    // A file whose weights do not fit its own network is not usable.
    exit_code = report["backbone"].value("loads", true) ? kExitOk : kExitFailure;
  });
}

}  // namespace relnet::cli
