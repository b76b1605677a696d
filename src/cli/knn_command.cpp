// `relnet knn`: weighted kNN classification on frozen features.
#include <spdlog/spdlog.h>

#include "commands.h"
#include "relnet/eval/classification.h"
#include "relnet/eval/knn.h"

namespace relnet::cli {

void setup_knn(CLI::App& app, int& exit_code) {
  auto opts = std::make_shared<KnnOptions>();
  CLI::App* cmd = app.add_subcommand(
      "knn", "Weighted k-nearest-neighbour accuracy of frozen, L2-normalized features (cosine)");
  add_eval_source_options(cmd, *opts);
  cmd->add_option("--k", opts->k, "Neighbours that vote")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  cmd->add_option("--temperature", opts->temperature, "Vote weight exp(similarity / temperature)")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  cmd->add_option("--out", opts->out, "Results JSON (default: knn.json next to the checkpoint)");
  cmd->callback([opts, &exit_code] {
    const KnnResult r = knn_eval(*opts);
    spdlog::info("kNN (k={}, temperature {}): {} -> {}", r.report["k"].get<int64_t>(),
                 opts->temperature, accuracy_summary(r.report), r.out_path);
    exit_code = kExitOk;
  });
}

}  // namespace relnet::cli
