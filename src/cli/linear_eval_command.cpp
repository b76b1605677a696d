// `relnet linear-eval`: the paper's linear evaluation of a frozen backbone.
#include <spdlog/spdlog.h>

#include "commands.h"
#include "relnet/eval/linear_eval.h"

namespace relnet::cli {

void setup_linear_eval(CLI::App& app, int& exit_code) {
  auto opts = std::make_shared<LinearEvalOptions>();
  CLI::App* cmd = app.add_subcommand(
      "linear-eval", "Train a linear classifier on a frozen backbone; report train/test accuracy");
  cmd->add_option("--checkpoint", opts->checkpoint, "backbone.pt written by relnet train")
      ->required();
  cmd->add_option("--dataset", opts->dataset, "Evaluation dataset (default: the checkpoint's)");
  cmd->add_option("--data-root", opts->data_root, "Folder of the dataset (default: the checkpoint's)");
  cmd->add_option("--epochs", opts->epochs, "Classifier epochs")->capture_default_str();
  cmd->add_option("--batch-size", opts->batch_size, "Classifier batch size")->capture_default_str();
  cmd->add_option("--lr", opts->lr, "Adam learning rate")->capture_default_str();
  cmd->add_option("--seed", opts->seed, "Seed of the classifier's init and shuffling")
      ->capture_default_str();
  cmd->add_option("--train-subset", opts->train_subset, "Use the first N train images (0 = all)")
      ->capture_default_str();
  cmd->add_option("--test-subset", opts->test_subset, "Use the first N test images (0 = all)")
      ->capture_default_str();
  cmd->add_option("--device", opts->device, "auto | cpu | cuda | cuda:N")->capture_default_str();
  cmd->add_option("--threads", opts->threads, "Intra-op threads, 0 = all cores")->capture_default_str();
  cmd->add_flag("--random-init", opts->random_init,
                "Evaluate the same architecture with random weights (lower bound)");
  cmd->add_option("--out", opts->out,
                  "Results JSON (default: linear_eval.json next to the checkpoint)");
  cmd->callback([opts, &exit_code] {
    const LinearEvalResult r = linear_eval(*opts);
    spdlog::info("linear evaluation: train accuracy {:.4f}, test accuracy {:.4f} -> {}",
                 r.train_accuracy, r.test_accuracy, r.out_path);
    exit_code = kExitOk;
  });
}

}  // namespace relnet::cli
