// `relnet bench`: speed of the training step or of linear evaluation.
#include <spdlog/spdlog.h>

#include <iostream>

#include "commands.h"
#include "relnet/bench/bench.h"
#include "relnet/methods/method.h"
#include "relnet/models/backbone.h"

namespace relnet::cli {

void setup_bench(CLI::App& app, int& exit_code) {
  auto o = std::make_shared<BenchOptions>();
  auto json_out = std::make_shared<bool>(false);
  CLI::App* cmd = app.add_subcommand(
      "bench", "Time the training step (augmentation + model) or linear evaluation, part by part");
  cmd->add_option("--method", o->method, "Training method")
      ->capture_default_str()
      ->check(CLI::IsMember(known_methods()));
  cmd->add_option("--backbone", o->backbone, "Backbone")
      ->capture_default_str()
      ->check(CLI::IsMember(known_backbones()));
  cmd->add_option("--aggregation", o->aggregation, "cat | sum | mean | max")
      ->capture_default_str()
      ->check(CLI::IsMember({"cat", "sum", "mean", "max"}));
  cmd->add_option("--K", o->K, "Views per image (relational reasoning)")->capture_default_str();
  cmd->add_option("--batch", o->batch, "Images per step")->capture_default_str();
  cmd->add_option("--steps", o->steps, "Measured steps")->capture_default_str();
  cmd->add_option("--warmup", o->warmup, "Steps run before measuring")->capture_default_str();
  cmd->add_option("--threads", o->threads, "Intra-op threads, 0 = all cores")
      ->capture_default_str();
  cmd->add_option("--workers", o->workers,
                  "Augmentation threads ahead of the step; 0 = automatic (CPU: none, views "
                  "built on the intra-op threads; GPU: cores - 1)")
      ->capture_default_str();
  cmd->add_option("--side", o->side, "Side of the generated images")->capture_default_str();
  cmd->add_option("--dataset", o->dataset, "Use this dataset instead of generated images");
  cmd->add_option("--data-root", o->data_root, "Root of --dataset")->capture_default_str();
  cmd->add_option("--device", o->device, "auto | cpu | cuda | cuda:N")->capture_default_str();
  cmd->add_option("--precision", o->precision, "fp32 | bf16 (autocast of the forward passes)")
      ->capture_default_str()
      ->check(CLI::IsMember({"fp32", "bf16"}));
  cmd->add_flag("--straightforward", o->straightforward,
                "Build the pairs matrix as the paper's code does (for comparison)");
  cmd->add_flag("!--unfused", o->fused,
                "LibTorch's modules instead of relnet's fused kernels (model.fused=false)");
  cmd->add_flag("--linear-eval", o->linear_eval,
                "Time linear evaluation (features once + classifier epochs) instead");
  cmd->add_option("--epochs", o->epochs, "Linear evaluation epochs")->capture_default_str();
  cmd->add_option("--train-images", o->train_images, "Linear evaluation train images")
      ->capture_default_str();
  cmd->add_option("--test-images", o->test_images, "Linear evaluation test images")
      ->capture_default_str();
  cmd->add_flag("--json", *json_out, "Print the report as one JSON line");
  cmd->callback([o, json_out, &exit_code] {
    const auto report = run_bench(*o);
    if (*json_out) {
      std::cout << report.dump() << std::endl;
    } else {
      std::cout << format_bench(report);
    }
    exit_code = kExitOk;
  });
}

}  // namespace relnet::cli
