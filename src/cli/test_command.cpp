// `relnet test`: a saved classifier (linear.pt) on a test split.
#include <spdlog/spdlog.h>

#include "commands.h"
#include "relnet/eval/classification.h"
#include "relnet/eval/test_classifier.h"

namespace relnet::cli {

void setup_test(CLI::App& app, int& exit_code) {
  auto opts = std::make_shared<TestOptions>();
  CLI::App* cmd = app.add_subcommand(
      "test", "Evaluate a saved classifier (linear.pt from linear-eval) on a test split");
  add_eval_source_options(cmd, *opts, /*training_flags=*/false);
  cmd->add_option("--out", opts->out, "Results JSON (default: test.json next to the checkpoint)");
  cmd->callback([opts, &exit_code] {
    const TestResult r = test_classifier(*opts);
    spdlog::info("{} on {} {} images -> {}", accuracy_summary(r.report),
                 r.report["test_images"].get<int64_t>(), r.report["dataset"].get<std::string>(),
                 r.out_path);
    exit_code = kExitOk;
  });
}

}  // namespace relnet::cli
