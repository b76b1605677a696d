// What relnet runs on.
#include "relnet/util/system_info.h"

#include <dlfcn.h>
#include <spdlog/fmt/fmt.h>

#ifdef RELNET_WITH_IMAGE_IO
#include <opencv2/core/version.hpp>
#define RELNET_OPENCV_VERSION CV_VERSION
#else
#define RELNET_OPENCV_VERSION "none (built without image I/O)"
#endif
#include <torch/torch.h>
#include <torch/version.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "relnet/util/runtime.h"
#include "relnet/util/version.h"

extern "C" {
// The Fortran BLAS entry point LibTorch's CPU matrix products end in.
void sgemm_(const char*, const char*, const int*, const int*, const int*, const float*,
            const float*, const int*, const float*, const int*, const float*, float*, const int*)
    __attribute__((weak));
}

namespace relnet {
namespace {

using nlohmann::json;

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

// The library mapped into the process whose file name mentions BLAS.
std::string blas_from_maps() {
  std::ifstream maps("/proc/self/maps");
  std::string line;
  while (std::getline(maps, line)) {
    const auto slash = line.find('/');
    if (slash == std::string::npos) continue;
    const std::string path = line.substr(slash);
    const std::string name = lower(std::filesystem::path(path).filename().string());
    if (name.find("blas") != std::string::npos || name.find("blis") != std::string::npos ||
        name.find("mkl_rt") != std::string::npos) {
      return path;
    }
  }
  return "";
}

}  // namespace

std::string blas_kind(const std::string& library_path) {
  const std::string p = lower(library_path);
  if (p.empty()) return "unknown";
  if (p.find("openblas") != std::string::npos) return "OpenBLAS";
  if (p.find("blis") != std::string::npos) return "BLIS";
  if (p.find("mkl") != std::string::npos) return "MKL";
  if (p.find("atlas") != std::string::npos) return "ATLAS";
  // Debian's netlib reference BLAS: /usr/lib/<arch>/blas/libblas.so.3.
  if (p.find("/blas/libblas") != std::string::npos) return "reference";
  return "unknown";
}

BlasInfo blas_info() {
  BlasInfo info;
  Dl_info dl{};
  if (sgemm_ != nullptr && dladdr(reinterpret_cast<void*>(sgemm_), &dl) != 0 && dl.dli_fname) {
    info.library = dl.dli_fname;
  }
  if (info.library.empty() || blas_kind(info.library) == "unknown") {
    const std::string mapped = blas_from_maps();
    if (!mapped.empty()) info.library = mapped;
  }
  std::error_code ec;
  const auto resolved = std::filesystem::canonical(info.library, ec);
  if (!ec) info.library = resolved.string();
  info.kind = blas_kind(info.library);
  info.optimized = info.kind != "reference" && info.kind != "unknown";

  torch::NoGradGuard no_grad;
  const int64_t n = 512;
  const auto a = torch::rand({n, n}), b = torch::rand({n, n});
  auto c = torch::mm(a, b);  // warm up
  double best = 1e30;
  for (int r = 0; r < 3; ++r) {
    const auto t0 = std::chrono::steady_clock::now();
    c = torch::mm(a, b);
    best = std::min(best,
                    std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  }
  info.gflops = 2.0 * n * n * n / best / 1e9;
  // A library we cannot name that is fast is fine; one that is slow is not.
  if (info.kind == "unknown") info.optimized = info.gflops > 20;
  return info;
}

json system_info() {
  json devices = json::array({json{{"type", "cpu"}}});
  const bool cuda = torch::cuda::is_available();
  if (cuda) {
    for (int64_t i = 0; i < static_cast<int64_t>(torch::cuda::device_count()); ++i) {
      devices.push_back({{"type", "cuda"}, {"index", i}});
    }
  }
  const BlasInfo blas = blas_info();
  return json{
      {"relnet", {{"version", version()}, {"git_commit", git_commit()}}},
      {"libtorch", TORCH_VERSION},
      {"opencv", RELNET_OPENCV_VERSION},
      {"threads",
       {{"intra_op", at::get_num_threads()},
        {"hardware", hardware_threads()},
        {"openmp_wait_policy", openmp_wait_policy()}}},
      {"cuda_available", cuda},
      {"devices", devices},
      {"blas",
       {{"kind", blas.kind},
        {"library", blas.library},
        {"optimized", blas.optimized},
        {"sgemm_gflops", blas.gflops},
        {"threads",
         std::getenv("OPENBLAS_NUM_THREADS") ? std::getenv("OPENBLAS_NUM_THREADS") : "default"}}}};
}

std::string format_system_info(const json& info) {
  std::ostringstream s;
  s << "relnet    " << info["relnet"]["version"].get<std::string>() << " ("
    << info["relnet"]["git_commit"].get<std::string>() << ")\n";
  s << "libtorch  " << info["libtorch"].get<std::string>() << "\n";
  s << "opencv    " << info["opencv"].get<std::string>() << "\n";
  s << "threads   " << info["threads"]["intra_op"].get<int>() << " intra-op of "
    << info["threads"]["hardware"].get<int>() << " hardware threads, OpenMP wait policy "
    << info["threads"]["openmp_wait_policy"].get<std::string>() << "\n";
  std::string devs;
  for (const auto& d : info["devices"]) {
    devs += (devs.empty() ? "" : ", ") + d["type"].get<std::string>() +
            (d.contains("index") ? ":" + std::to_string(d["index"].get<int64_t>()) : "");
  }
  s << "devices   " << devs << (info["cuda_available"].get<bool>() ? "" : " (no CUDA device)")
    << "\n";
  if (info.contains("distributed")) {
    s << "parallel  "
      << (info["distributed"].get<bool>() ? "c10d/Gloo data parallelism (relnet launch)"
                                          : "no distributed training (built without Gloo)")
      << "\n";
  }
  const auto& b = info["blas"];
  s << "blas      " << b["kind"].get<std::string>() << " ("
    << (b["library"].get<std::string>().empty() ? "library not found"
                                                : b["library"].get<std::string>())
    << "), " << fmt::format("{:.1f}", b["sgemm_gflops"].get<double>()) << " GFLOP/s sgemm, "
    << (b["threads"] == "default" ? std::string("its default threads")
                                  : b["threads"].get<std::string>() + " thread(s)")
    << (b["optimized"].get<bool>() ? "" : "  <-- NOT OPTIMIZED") << "\n";
  for (const auto& r : info.value("datasets", json::array())) {
    s << "data root " << r["root"].get<std::string>();
    if (!r["exists"].get<bool>()) {
      s << ": no such folder\n";
      continue;
    }
    if (r["found"].empty()) {
      s << ": no dataset found\n";
      continue;
    }
    s << ":\n";
    for (const auto& d : r["found"]) {
      std::string splits;
      for (const auto& sp : d["splits"])
        splits += (splits.empty() ? "" : ", ") + sp.get<std::string>();
      s << "  " << d["dataset"].get<std::string>() << " (" << splits << ")\n";
    }
  }
  return s.str();
}

}  // namespace relnet
