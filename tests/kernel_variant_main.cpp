// main() of the kernel variant test binaries (relnet_kernel_tests_avx2,
// relnet_kernel_tests_baseline: CMakeLists.txt, RELNET_VARIANT_TESTS), which
// link the kernel tests with the kernels compiled for one instruction set
// only. On a CPU without that instruction set they run nothing: listing no
// tests, ctest finds none to run.
#include <gtest/gtest.h>

#include <cstdio>

int main(int argc, char** argv) {
#ifdef RELNET_VARIANT_CPU_FEATURE
  __builtin_cpu_init();
  if (!__builtin_cpu_supports(RELNET_VARIANT_CPU_FEATURE)) {
    std::fprintf(stderr, "relnet: this CPU has no %s: the %s kernels' tests are not run\n",
                 RELNET_VARIANT_CPU_FEATURE, RELNET_VARIANT_CPU_FEATURE);
    return 0;
  }
#endif
  ::testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}
