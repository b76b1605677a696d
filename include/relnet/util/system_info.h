// `relnet info`: what relnet runs on. Versions, devices, threads, the BLAS
// library LibTorch calls (and how fast it is), and the datasets found.
#pragma once

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

namespace relnet {

struct BlasInfo {
  std::string library;   // resolved path of the library that provides sgemm_ ("" = unknown)
  std::string kind;      // OpenBLAS | BLIS | MKL | ATLAS | reference | unknown
  bool optimized = false;
  double gflops = 0;     // measured: 512x512 float matrix product, best of 3
};

// Which BLAS the process uses, found through the sgemm_ symbol, and its
// measured single-precision GEMM speed with the current thread count.
BlasInfo blas_info();

// Classifies a BLAS library path: "openblas" -> OpenBLAS, ".../blas/libblas"
// -> reference (Debian's netlib package), and so on.
std::string blas_kind(const std::string& library_path);

// The whole report: relnet (version, commit), libtorch, opencv, threads
// (intra-op, hardware), devices (cpu, and cuda count and names), distributed
// (whether c10d/Gloo is built in), blas, and
// datasets: for each data root, every dataset whose files load there.
nlohmann::json system_info(const std::vector<std::string>& data_roots);

// Human-readable lines of a system_info report.
std::string format_system_info(const nlohmann::json& info);

}  // namespace relnet
