// `relnet finetune`: backbone and classifier trained together, then tested.
#include <spdlog/spdlog.h>

#include "commands.h"
#include "relnet/eval/classification.h"
#include "relnet/eval/finetune.h"

namespace relnet::cli {

void setup_finetune(CLI::App& app, int& exit_code) {
  auto opts = std::make_shared<FinetuneOptions>();
  CLI::App* cmd = app.add_subcommand(
      "finetune",
      "Fine-tune backbone + linear classifier on the labels; report train/test accuracy");
  add_eval_source_options(cmd, *opts);
  cmd->add_option("--epochs", opts->epochs, "Training epochs")->capture_default_str();
  cmd->add_option("--batch-size", opts->batch_size, "Batch size")->capture_default_str();
  cmd->add_option("--backbone-lr", opts->backbone_lr, "Adam learning rate of the backbone")
      ->capture_default_str();
  cmd->add_option("--classifier-lr", opts->classifier_lr, "Adam learning rate of the classifier")
      ->capture_default_str();
  cmd->add_option("--weight-decay", opts->weight_decay, "Adam weight decay of both")
      ->capture_default_str();
  cmd->add_option("--max-shift", opts->max_shift,
                  "Largest random translation, as a fraction of the side (flips always on)")
      ->capture_default_str();
  cmd->add_option("--out", opts->out,
                  "Results JSON (default: finetune.json next to the checkpoint)");
  cmd->add_option(
      "--save", opts->classifier_out,
      "Fine-tuned network for relnet test (default: finetune.pt next to the checkpoint)");
  cmd->callback([opts, &exit_code] {
    const FinetuneResult r = finetune(*opts);
    spdlog::info("fine-tuning: train accuracy {:.4f}, {} -> {}, {}", r.train_accuracy,
                 accuracy_summary(r.report), r.out_path, r.classifier_path);
    exit_code = kExitOk;
  });
}

}  // namespace relnet::cli
