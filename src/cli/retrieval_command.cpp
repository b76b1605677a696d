// `relnet retrieval`: precision@k and mAP of test queries against the train gallery.
#include <spdlog/fmt/fmt.h>
#include <spdlog/spdlog.h>

#include <string>

#include "commands.h"
#include "relnet/eval/retrieval.h"

namespace relnet::cli {

void setup_retrieval(CLI::App& app, int& exit_code) {
  auto opts = std::make_shared<RetrievalOptions>();
  CLI::App* cmd = app.add_subcommand(
      "retrieval",
      "Image retrieval on frozen features: test queries, train gallery, cosine similarity");
  add_eval_source_options(cmd, *opts);
  cmd->add_option("--k", opts->ks, "Cut-offs of precision@k (repeatable or comma-separated)")
      ->delimiter(',')
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  cmd->add_option("--out", opts->out,
                  "Results JSON (default: retrieval.json next to the checkpoint)");
  cmd->add_option("--grid", opts->grid,
                  "Also draw queries and their nearest train images to this PNG (green frame: same "
                  "class, red: another)");
  cmd->add_option("--grid-queries", opts->grid_queries, "Queries (rows) in the grid")
      ->capture_default_str()
      ->check(CLI::Range(int64_t{1}, int64_t{256}));
  cmd->add_option("--grid-k", opts->grid_k, "Neighbours per query in the grid")
      ->capture_default_str()
      ->check(CLI::Range(int64_t{1}, int64_t{64}));
  cmd->callback([opts, &exit_code] {
    const RetrievalResult r = retrieval_eval(*opts);
    std::string line;
    for (size_t i = 0; i < opts->ks.size(); ++i) {
      line += fmt::format("P@{} {:.4f}, ", opts->ks[i], r.metrics.precision_at_k[i]);
    }
    spdlog::info("retrieval: {}mAP {:.4f} -> {}", line, r.metrics.mean_average_precision,
                 r.out_path);
    if (!opts->grid.empty())
      spdlog::info("neighbours of {} queries -> {}", opts->grid_queries, opts->grid);
    exit_code = kExitOk;
  });
}

}  // namespace relnet::cli
