// is_float_cpu (src/kernels/float_cpu.h): which tensors the fused kernels
// take, against LibTorch's own dtype and device.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "kernels/float_cpu.h"

namespace relnet {
namespace {

TEST(KernelFloatCpuTest, TakesDefinedFloat32CpuTensorsOnly) {
  const torch::Tensor x = torch::randn({2, 3, 4, 5});
  EXPECT_TRUE(is_float_cpu(x));
  EXPECT_TRUE(is_float_cpu(torch::zeros({})));   // any shape
  EXPECT_TRUE(is_float_cpu(x.transpose(1, 3)));  // any strides
  EXPECT_TRUE(is_float_cpu(x.contiguous(at::MemoryFormat::ChannelsLast)));
  EXPECT_FALSE(is_float_cpu(torch::Tensor()));
  EXPECT_FALSE(is_float_cpu(x.to(torch::kFloat64)));
  EXPECT_FALSE(is_float_cpu(x.to(torch::kBFloat16)));
  EXPECT_FALSE(is_float_cpu(x.to(torch::kInt32)));
  // The same answer as asking LibTorch, over the dtypes it has on the CPU.
  for (const auto dtype : {torch::kFloat16, torch::kFloat32, torch::kFloat64, torch::kUInt8,
                           torch::kInt64, torch::kBool}) {
    const torch::Tensor t = torch::zeros({3}, dtype);
    EXPECT_EQ(is_float_cpu(t), t.dtype() == torch::kFloat32 && t.is_cpu()) << t.dtype();
  }
  if (torch::cuda::is_available()) {
    EXPECT_FALSE(is_float_cpu(x.to(torch::kCUDA)));
  }
}

}  // namespace
}  // namespace relnet
