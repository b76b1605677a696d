#include "relnet/util/system_info.h"

#include <gtest/gtest.h>

#include "relnet/data/info.h"
#include "test_util.h"

namespace relnet {
namespace {

TEST(SystemInfoTest, ClassifiesBlasLibraries) {
  EXPECT_EQ(blas_kind("/usr/lib/x86_64-linux-gnu/openblas-pthread/libblas.so.3"), "OpenBLAS");
  EXPECT_EQ(blas_kind("/usr/lib/x86_64-linux-gnu/blas/libblas.so.3.11.0"), "reference");
  EXPECT_EQ(blas_kind("/usr/lib/x86_64-linux-gnu/blis-openmp/libblas.so.3"), "BLIS");
  EXPECT_EQ(blas_kind("/opt/intel/lib/libmkl_rt.so"), "MKL");
  EXPECT_EQ(blas_kind(""), "unknown");
}

// On this machine (set up by scripts/setup.sh) LibTorch must call an
// optimized BLAS, and the report must say which and how fast it is.
TEST(SystemInfoTest, ReportsThisMachine) {
  relnet::testing::TempDir dir("info");
  std::filesystem::create_directories(dir / "mnist");
  relnet::testing::write_tiny_mnist(dir / "mnist", 32, 16);
  auto info = system_info();
  EXPECT_FALSE(info.contains("datasets"));
  info["datasets"] = {datasets_found(dir / "mnist"), datasets_found(dir / "missing")};
  EXPECT_EQ(info["libtorch"].get<std::string>().rfind("1.", 0), 0u) << info.dump();
  EXPECT_FALSE(info["opencv"].get<std::string>().empty());
  EXPECT_GE(info["threads"]["hardware"].get<int>(), 1);
  EXPECT_EQ(info["devices"][0]["type"], "cpu");
  const auto& blas = info["blas"];
  EXPECT_FALSE(blas["library"].get<std::string>().empty()) << blas.dump();
  EXPECT_GT(blas["sgemm_gflops"].get<double>(), 0.0);
  EXPECT_TRUE(blas["optimized"].get<bool>()) << "run scripts/setup.sh: " << blas.dump();
  const auto& roots = info["datasets"];
  ASSERT_EQ(roots.size(), 2u);
  bool mnist = false;
  for (const auto& d : roots[0]["found"]) mnist = mnist || d["dataset"] == "mnist";
  EXPECT_TRUE(mnist) << roots.dump();
  EXPECT_FALSE(roots[1]["exists"].get<bool>());
  const std::string text = format_system_info(info);
  EXPECT_NE(text.find("blas"), std::string::npos);
  EXPECT_NE(text.find("mnist (train, test)"), std::string::npos) << text;
  EXPECT_NE(text.find("no such folder"), std::string::npos) << text;
}

}  // namespace
}  // namespace relnet
