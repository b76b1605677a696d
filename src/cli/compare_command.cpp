// `relnet compare`: several methods x seeds from one base config, trained,
// evaluated and summarised (compare/compare.h).
#include <spdlog/spdlog.h>

#include <cstdio>

#include "commands.h"
#include "relnet/compare/compare.h"
#include "relnet/util/process.h"

namespace relnet::cli {
namespace {

struct CompareFlags {
  CompareOptions options;
  std::string methods = "relational,simclr,rotation";
  std::string seeds = "1,2,3";
  bool no_bounds = false;
};

// The command line that continues this comparison.
std::string continue_command(const CompareFlags& f) {
  std::string cmd = "relnet compare --config '" + f.options.config + "' --methods " + f.methods +
                    " --seeds " + f.seeds;
  for (const auto& s : f.options.overrides) cmd += " --set '" + s + "'";
  if (!f.options.out.empty()) cmd += " --out '" + f.options.out + "'";
  if (f.no_bounds) cmd += " --no-bounds";
  const CompareOptions defaults;
  if (f.options.linear_epochs != defaults.linear_epochs) {
    cmd += " --linear-epochs " + std::to_string(f.options.linear_epochs);
  }
  if (f.options.knn_k != defaults.knn_k) cmd += " --knn-k " + std::to_string(f.options.knn_k);
  if (!f.options.device.empty()) cmd += " --device " + f.options.device;
  if (f.options.threads != 0) cmd += " --threads " + std::to_string(f.options.threads);
  return cmd;
}

int run_compare_command(CompareFlags& f) {
  f.options.methods = parse_method_list(f.methods);
  f.options.seeds = parse_seed_list(f.seeds);
  f.options.bounds = !f.no_bounds;
  f.options.relnet = self_executable();
  const CompareResult r = run_compare(f.options);
  if (r.interrupted) {
    spdlog::warn("compare stopped with {} run(s) finished; continue with: {}", r.runs.size(),
                 continue_command(f));
    return kExitInterrupted;
  }
  std::FILE* md = std::fopen(r.markdown_path.c_str(), "r");
  if (md) {  // the table on the terminal too
    char buf[4096];
    size_t n;
    while ((n = std::fread(buf, 1, sizeof buf, md)) > 0) std::fwrite(buf, 1, n, stdout);
    std::fclose(md);
    std::fflush(stdout);
  }
  spdlog::info("compare: {} runs -> {}, {}{}", r.runs.size(), r.json_path, r.markdown_path,
               r.runs.empty() ? "" : ", " + r.png_path);
  return kExitOk;
}

}  // namespace

void setup_compare(CLI::App& app, int& exit_code) {
  auto f = std::make_shared<CompareFlags>();
  CLI::App* cmd = app.add_subcommand(
      "compare",
      "Train several methods x seeds from one config, evaluate each alike, summarise "
      "(compare.json, compare.md, compare.png); run again to continue");
  cmd->add_option("-c,--config", f->options.config, "Base JSON config of every run")->required();
  cmd->add_option("--methods", f->methods,
                  "Comma-separated methods (relational, simclr, deepcluster, infomax, rotation, "
                  "supervised, random)")
      ->capture_default_str();
  cmd->add_option("--seeds", f->seeds, "Comma-separated seeds (train.seed of each run)")
      ->capture_default_str();
  cmd->add_option("--set", f->options.overrides,
                  "Override a config key of every run: --set train.epochs=5 (repeatable)");
  cmd->add_option("--out", f->options.out, "Output folder (default: runs/compare-<config name>)");
  cmd->add_flag("--no-bounds", f->no_bounds,
                "Do not add the random-weights and supervised bounds (added when the data has "
                "labels)");
  cmd->add_option("--linear-epochs", f->options.linear_epochs, "Epochs of each linear evaluation")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  cmd->add_option("--knn-k", f->options.knn_k, "Neighbours that vote in each kNN evaluation")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  cmd->add_option("--device", f->options.device,
                  "Evaluations' device: auto | cpu | cuda | cuda:N (default: train.device)");
  cmd->add_option("--threads", f->options.threads, "Evaluations' intra-op threads, 0 = all cores")
      ->capture_default_str();
  cmd->callback([f, &exit_code] { exit_code = run_compare_command(*f); });
}

}  // namespace relnet::cli
