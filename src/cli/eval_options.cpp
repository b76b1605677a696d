// The flags every evaluation command shares (where the features come from).
#include "commands.h"
#include "relnet/models/backbone.h"

namespace relnet::cli {

void add_eval_source_options(CLI::App* cmd, EvalSource& src, bool training_flags) {
  cmd->add_option("--checkpoint", src.checkpoint, "backbone.pt written by relnet train")
      ->required();
  cmd->add_option("--dataset", src.dataset, "Evaluation dataset (default: the checkpoint's)");
  cmd->add_option("--data-root", src.data_root,
                  "Folder of the dataset (default: the checkpoint's)");
  cmd->add_option("--backbone", src.backbone,
                  "Backbone of a file without relnet metadata (weights saved by PyTorch)")
      ->check(CLI::IsMember(known_backbones()));
  if (training_flags) {
    cmd->add_option("--train-subset", src.train_subset, "Use the first N train images (0 = all)")
        ->capture_default_str();
  }
  cmd->add_option("--test-subset", src.test_subset, "Use the first N test images (0 = all)")
      ->capture_default_str();
  cmd->add_option("--device", src.device, "auto | cpu | cuda | cuda:N")->capture_default_str();
  cmd->add_option("--threads", src.threads, "Intra-op threads, 0 = all cores")
      ->capture_default_str();
  if (!training_flags) return;
  cmd->add_flag("--random-init", src.random_init,
                "Evaluate the same architecture with random weights (lower bound)");
  cmd->add_option("--seed", src.seed, "Seed of random weights and of the command's own randomness")
      ->capture_default_str();
}

}  // namespace relnet::cli
