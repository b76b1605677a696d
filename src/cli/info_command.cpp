// `relnet info`: versions, devices, threads, BLAS, datasets found.
#include <spdlog/spdlog.h>

#include <iostream>
#include <vector>

#include "commands.h"
#include "relnet/data/info.h"
#include "relnet/train/distributed.h"
#include "relnet/util/runtime.h"
#include "relnet/util/system_info.h"

namespace relnet::cli {

void setup_info(CLI::App& app, int& exit_code) {
  struct Options {
    std::vector<std::string> roots{"data"};
    int64_t threads = 0;
    bool json = false;
  };
  auto opts = std::make_shared<Options>();
  CLI::App* cmd = app.add_subcommand(
      "info", "Versions, devices, threads, the BLAS in use (and its speed), datasets found");
  cmd->add_option("--data-root", opts->roots, "Data root(s) to look for datasets in (repeatable)")
      ->capture_default_str();
  cmd->add_option("--threads", opts->threads, "Intra-op threads, 0 = all cores")
      ->capture_default_str();
  cmd->add_flag("--json", opts->json, "Print the report as JSON");
  cmd->callback([opts, &exit_code] {
    set_threads(opts->threads);
    auto report = system_info();
    report["distributed"] = distributed_available();
    report["datasets"] = nlohmann::json::array();
    for (const auto& root : opts->roots) report["datasets"].push_back(datasets_found(root));
    if (opts->json) {
      std::cout << report.dump(2) << std::endl;
    } else {
      std::cout << format_system_info(report);
    }
    if (!report["blas"]["optimized"].get<bool>()) {
      spdlog::warn(
          "LibTorch calls the {} BLAS at {:.1f} GFLOP/s: training will be many times slower than "
          "it should. Install OpenBLAS (apt-get install libopenblas0-pthread; scripts/setup.sh "
          "does it) and select it: update-alternatives --config libblas.so.3-x86_64-linux-gnu",
          report["blas"]["kind"].get<std::string>(), report["blas"]["sgemm_gflops"].get<double>());
    }
    exit_code = kExitOk;
  });
}

}  // namespace relnet::cli
