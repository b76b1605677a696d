// `relnet data info`: counts, classes, image size, measured mean/std and
// integrity of a dataset folder.
#include <spdlog/spdlog.h>

#include <iostream>

#include "commands.h"
#include "relnet/data/dataset.h"
#include "relnet/data/info.h"

namespace relnet::cli {

void setup_data(CLI::App& app, int& exit_code) {
  CLI::App* data = app.add_subcommand("data", "Inspect datasets");
  data->require_subcommand(1);
  struct Options {
    std::string dataset;
    std::string root = "data";
    int64_t image_size = 0;
    bool json = false;
  };
  auto opts = std::make_shared<Options>();
  CLI::App* info = data->add_subcommand(
      "info", "Counts, classes, image size, measured per-channel mean/std, and file integrity");
  info->add_option("--dataset", opts->dataset, "Dataset name")
      ->required()
      ->check(CLI::IsMember(known_datasets()));
  info->add_option("--root", opts->root, "Data root")->capture_default_str();
  info->add_option("--image-size", opts->image_size,
                   "Resize images to this side first (image folders default to 64)")
      ->capture_default_str();
  info->add_flag("--json", opts->json, "Print the report as JSON");
  info->callback([opts, &exit_code] {
    const auto report = dataset_info(opts->dataset, opts->root, opts->image_size);
    if (opts->json) {
      std::cout << report.dump(2) << std::endl;
    } else {
      std::cout << format_dataset_info(report);
    }
    if (!report["intact"].get<bool>()) {
      spdlog::error("{} at '{}' is missing files or has damaged ones (see above)", opts->dataset,
                    opts->root);
      exit_code = kExitFailure;
      return;
    }
    exit_code = kExitOk;
  });
}

}  // namespace relnet::cli
