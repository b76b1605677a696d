// `relnet linear-eval`: the paper's linear evaluation of a frozen backbone.
#include <spdlog/spdlog.h>

#include "commands.h"
#include "relnet/eval/classification.h"
#include "relnet/eval/linear_eval.h"

namespace relnet::cli {

void setup_linear_eval(CLI::App& app, int& exit_code) {
  auto opts = std::make_shared<LinearEvalOptions>();
  CLI::App* cmd = app.add_subcommand(
      "linear-eval", "Train a linear classifier on a frozen backbone; report train/test accuracy");
  add_eval_source_options(cmd, *opts);
  cmd->add_option("--epochs", opts->epochs, "Classifier epochs")->capture_default_str();
  cmd->add_option("--batch-size", opts->batch_size, "Classifier batch size")->capture_default_str();
  cmd->add_option("--lr", opts->lr, "Adam learning rate")->capture_default_str();
  cmd->add_option("--out", opts->out,
                  "Results JSON (default: linear_eval.json next to the checkpoint)");
  cmd->add_option(
      "--save", opts->classifier_out,
      "Backbone + classifier for relnet test (default: linear.pt next to the checkpoint)");
  cmd->callback([opts, &exit_code] {
    const LinearEvalResult r = linear_eval(*opts);
    spdlog::info("linear evaluation: train accuracy {:.4f}, {} -> {}, {}", r.train_accuracy,
                 accuracy_summary(r.report), r.out_path, r.classifier_path);
    exit_code = kExitOk;
  });
}

}  // namespace relnet::cli
