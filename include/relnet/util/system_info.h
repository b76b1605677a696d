// `relnet info`: what relnet runs on. Versions, devices, threads and the
// BLAS library LibTorch calls (and how fast it is). The command adds what
// lives in higher layers (datasets found, data parallelism) to the report.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace relnet {

struct BlasInfo {
  std::string library;  // resolved path of the library that provides sgemm_ ("" = unknown)
  std::string kind;     // OpenBLAS | BLIS | MKL | ATLAS | reference | unknown
  bool optimized = false;
  double gflops = 0;  // measured: 512x512 float matrix product, best of 3
};

// Which BLAS the process uses, found through the sgemm_ symbol, and its
// measured single-precision GEMM speed with the current thread count.
BlasInfo blas_info();

// Classifies a BLAS library path: "openblas" -> OpenBLAS, ".../blas/libblas"
// -> reference (Debian's netlib package), and so on.
std::string blas_kind(const std::string& library_path);

// The machine's report: relnet (version, commit), libtorch, opencv, threads
// (intra-op, hardware, OpenMP wait policy), cuda_available, devices (cpu,
// and each cuda device) and blas.
nlohmann::json system_info();

// Human-readable lines of a system_info report, plus, where the report has
// them, "distributed" (bool: c10d/Gloo built in) and "datasets" (an array of
// datasets_found reports, data/info.h).
std::string format_system_info(const nlohmann::json& info);

}  // namespace relnet
