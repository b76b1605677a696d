// `relnet embed`: the test features in two dimensions (PCA), as a PNG and JSON.
#include <spdlog/spdlog.h>

#include "commands.h"
#include "relnet/eval/embed.h"

namespace relnet::cli {

void setup_embed(CLI::App& app, int& exit_code) {
  auto opts = std::make_shared<EmbedOptions>();
  CLI::App* cmd = app.add_subcommand(
      "embed", "Draw the test features in two dimensions (PCA), coloured by class, as a PNG");
  add_eval_source_options(cmd, *opts);
  cmd->add_option("--out", opts->out, "The PNG (default: embed.png next to the checkpoint)");
  cmd->add_option("--json", opts->json_out, "Also write the 2-D points as JSON to this file");
  cmd->callback([opts, &exit_code] {
    const EmbedResult r = embed(*opts);
    const auto& ratio = r.report["explained_variance_ratio"];
    spdlog::info("embedding: PCA of {} test features ({:.1f}% + {:.1f}% of the variance) -> {}{}",
                 r.report["test_images"].get<int64_t>(), 100 * ratio[0].get<double>(),
                 100 * ratio[1].get<double>(), r.png_path,
                 r.json_path.empty() ? "" : ", " + r.json_path);
    exit_code = kExitOk;
  });
}

}  // namespace relnet::cli
