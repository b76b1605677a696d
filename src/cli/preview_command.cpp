// `relnet preview-augment`: each image next to its K augmented views.
#include <spdlog/spdlog.h>

#include <vector>

#include "commands.h"
#include "relnet/augment/preview.h"
#include "relnet/config.h"
#include "relnet/util/plot.h"

namespace relnet::cli {

void setup_preview_augment(CLI::App& app, int& exit_code) {
  struct Options {
    std::string config;
    std::vector<std::string> overrides;
    int64_t images = 8;
    int64_t views = 0;
    int64_t seed = -1;
    std::string out = "views.png";
  };
  auto opts = std::make_shared<Options>();
  CLI::App* cmd = app.add_subcommand(
      "preview-augment",
      "Draw images next to their augmented views (the config's pipeline) as a PNG grid");
  cmd->add_option("-c,--config", opts->config, "JSON config file (its data and augment sections)")
      ->required();
  cmd->add_option("--set", opts->overrides,
                  "Override a config key: --set augment.K=8 (repeatable)");
  cmd->add_option("--images", opts->images, "Images (rows)")
      ->capture_default_str()
      ->check(CLI::Range(int64_t{1}, int64_t{256}));
  cmd->add_option("--views", opts->views, "Views per image; 0 = the config's augment.K")
      ->capture_default_str()
      ->check(CLI::Range(int64_t{0}, int64_t{256}));
  cmd->add_option("--seed", opts->seed, "Augmentation seed; default: the config's train.seed");
  cmd->add_option("-o,--out", opts->out, "PNG to write")->capture_default_str();
  cmd->callback([opts, &exit_code] {
    Config config = load_config(opts->config);
    apply_overrides(config, opts->overrides);
    const Split split = config.data.split == "auto"
                            ? default_train_split(config.data.dataset, config.data.root)
                            : parse_split(config.data.split);
    const ImageDataset data = load_dataset(config.data.dataset, config.data.root, split,
                                           opts->images, config.data.image_size);
    const Normalization norm = effective_normalization(config.data);
    const ViewAugmenter augmenter(config.augment, norm, data.side());
    const int64_t K = opts->views > 0 ? opts->views : config.augment.K;
    const uint64_t seed = static_cast<uint64_t>(opts->seed >= 0 ? opts->seed : config.train.seed);
    write_augmentation_preview(opts->out, data, augmenter, norm, opts->images, K, seed);
    spdlog::info("{} {} images x {} views -> {}", data.name, opts->images, K, opts->out);
    exit_code = kExitOk;
  });
}

}  // namespace relnet::cli
