// `relnet data info`: counts, classes, image size, measured mean/std and
// integrity of a dataset folder or a pack. `relnet data pack`: decode a
// dataset once into a memory-mappable pack.
#include <spdlog/spdlog.h>

#include <chrono>
#include <iostream>
#include <map>
#include <memory>

#include "commands.h"
#include "relnet/data/dataset.h"
#include "relnet/data/info.h"
#include "relnet/data/packed.h"
#include "relnet/util/progress.h"
#include "relnet/util/runtime.h"

namespace relnet::cli {
namespace {

struct InfoOptions {
  std::string dataset;
  std::string root = "data";
  int64_t image_size = 0;
  bool json = false;
  bool verify = false;
};

void run_info(const InfoOptions& o, int& exit_code) {
  const bool packed = o.dataset == "packed" || is_pack(o.root);
  const auto report =
      packed ? pack_report(o.root, o.verify) : dataset_info(o.dataset, o.root, o.image_size);
  if (o.json) {
    std::cout << report.dump(2) << std::endl;
  } else {
    std::cout << (packed ? format_pack_report(report) : format_dataset_info(report));
  }
  if (!report["intact"].get<bool>()) {
    spdlog::error("{} at '{}' is missing files or has damaged ones (see above)", o.dataset, o.root);
    exit_code = kExitFailure;
    return;
  }
  exit_code = kExitOk;
}

void setup_info_subcommand(CLI::App* data, int& exit_code) {
  auto opts = std::make_shared<InfoOptions>();
  CLI::App* info = data->add_subcommand(
      "info", "Counts, classes, image size, measured per-channel mean/std, and file integrity");
  info->add_option("--dataset", opts->dataset, "Dataset name (a pack is recognised by its files)")
      ->required()
      ->check(CLI::IsMember(known_datasets()));
  info->add_option("--root", opts->root, "Data root, or the pack folder")->capture_default_str();
  info->add_option("--image-size", opts->image_size,
                   "Resize images to this side first (image folders default to 64)")
      ->capture_default_str();
  info->add_flag("--verify", opts->verify,
                 "A pack: check the CRC-32 of every file (reads the whole pack); other datasets "
                 "are always read whole");
  info->add_flag("--json", opts->json, "Print the report as JSON");
  info->callback([opts, &exit_code] { run_info(*opts, exit_code); });
}

struct PackCliOptions {
  PackOptions pack;
  std::vector<std::string> splits;
};

// One progress bar per split while packing.
PackProgress pack_progress() {
  auto bars = std::make_shared<std::map<std::string, std::unique_ptr<ProgressBar>>>();
  auto start = std::make_shared<std::chrono::steady_clock::time_point>();
  return [bars, start](const std::string& split, int64_t done, int64_t total) {
    auto& bar = (*bars)[split];
    if (!bar) {
      bar = std::make_unique<ProgressBar>("pack " + split, total);
      *start = std::chrono::steady_clock::now();
    }
    const double s =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - *start).count();
    const double rate = s > 0 ? static_cast<double>(done) / s : 0;
    bar->update(done, fmt::format("{:.0f} img/s", rate), rate > 0 ? (total - done) / rate : -1);
    if (done >= total) bar->finish();
  };
}

void run_pack(PackCliOptions& o, int& exit_code) {
  for (const auto& s : o.splits) o.pack.splits.push_back(parse_split(s));
  if (spdlog::get_level() <= spdlog::level::info) o.pack.progress = pack_progress();
  const auto t0 = std::chrono::steady_clock::now();
  try {
    const PackInfo info = pack_dataset(o.pack);
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    for (const auto& [split, s] : info.splits) {
      spdlog::info("packed {} {}: {} images of {}x{} ({:.1f} MB)", o.pack.dataset, to_string(split),
                   s.images, info.side, info.side, static_cast<double>(s.images_bytes) / 1e6);
    }
    spdlog::info(
        "pack '{}' written in {:.1f} s; train with --set data.dataset=packed --set "
        "data.root={}",
        o.pack.out, seconds, o.pack.out);
    exit_code = kExitOk;
  } catch (const std::exception& e) {
    if (!stop_requested()) throw;
    spdlog::error("{}", e.what());
    exit_code = kExitInterrupted;
  }
}

void setup_pack_subcommand(CLI::App* data, int& exit_code) {
  auto opts = std::make_shared<PackCliOptions>();
  CLI::App* pack = data->add_subcommand(
      "pack", "Decode a dataset once into .npy files that every later run memory-maps");
  pack->add_option("--dataset", opts->pack.dataset, "Dataset name")
      ->required()
      ->check(CLI::IsMember(known_datasets()));
  pack->add_option("--root", opts->pack.root, "Data root of the dataset")->required();
  pack->add_option("--out", opts->pack.out, "The pack folder to create")->required();
  pack->add_option("--image-size", opts->pack.image_size,
                   "Side of the packed images (0 = the dataset's own; image folders: 64)")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  pack->add_option("--split", opts->splits,
                   "Splits to pack, comma-separated (default: every split the dataset has)")
      ->delimiter(',')
      ->check(CLI::IsMember({"train", "test", "unlabeled"}));
  pack->callback([opts, &exit_code] { run_pack(*opts, exit_code); });
}

}  // namespace

void setup_data(CLI::App& app, int& exit_code) {
  CLI::App* data = app.add_subcommand("data", "Inspect and pack datasets");
  data->require_subcommand(1);
  setup_info_subcommand(data, exit_code);
  setup_pack_subcommand(data, exit_code);
}

}  // namespace relnet::cli
