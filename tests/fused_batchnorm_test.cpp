// The fused BatchNorm2d -> ReLU -> pooling kernel against LibTorch's modules.
#include "relnet/models/fused_batchnorm.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <chrono>
#include <iostream>

#include "relnet/models/conv4.h"
#include "test_util.h"

namespace relnet {
namespace {

using relnet::testing::error_of;
using relnet::testing::expect_batchnorm_close;
using relnet::testing::expect_tensors_close;

struct Case {
  int64_t N, C, H, W;
  FusedPool pool;
  bool channels_last;
};

class FusedBatchNormTest : public ::testing::TestWithParam<Case> {};

// Output, gradients of input, weight and bias, and the running statistics
// after two training steps equal BatchNorm2d -> ReLU -> AvgPool2d(2) (or
// AdaptiveAvgPool2d(1)), odd sizes included. The modules run in float64:
// LibTorch's own float32 channels-last BatchNorm backward sums long rows
// less accurately than the fused kernel does (0.15% off in d bias on
// 64 x 8 x 32 x 32).
TEST_P(FusedBatchNormTest, EqualsTheModules) {
  const Case c = GetParam();
  torch::manual_seed(3);
  torch::nn::BatchNorm2d fused_bn(c.C), plain_bn(c.C);
  {
    torch::NoGradGuard no_grad;
    fused_bn->weight.uniform_(0.5, 1.5);
    fused_bn->bias.uniform_(-0.5, 0.5);
    plain_bn->to(torch::kFloat64);
    plain_bn->weight.copy_(fused_bn->weight);
    plain_bn->bias.copy_(fused_bn->bias);
  }
  for (int step = 0; step < 2; ++step) {
    SCOPED_TRACE("step " + std::to_string(step));
    torch::Tensor base = torch::randn({c.N, c.C, c.H, c.W}) * 2 + 0.3;
    if (c.channels_last) base = base.contiguous(at::MemoryFormat::ChannelsLast);
    const torch::Tensor x1 = base.clone().requires_grad_(true);
    const torch::Tensor x2 = base.to(torch::kFloat64).requires_grad_(true);
    const torch::Tensor out = batchnorm_relu_pool(x1, *fused_bn, c.pool);
    torch::Tensor ref = torch::relu(plain_bn->forward(x2));
    ref = c.pool == FusedPool::kGlobal ? torch::adaptive_avg_pool2d(ref, {1, 1})
                                       : torch::avg_pool2d(ref, {2, 2});
    expect_tensors_close(out, ref.to(torch::kFloat32), "output");
    EXPECT_TRUE(out.is_contiguous(at::MemoryFormat::ChannelsLast));
    const torch::Tensor grad = torch::randn(ref.sizes());
    out.backward(grad);
    ref.backward(grad.to(torch::kFloat64));
    const auto f32 = [](const torch::Tensor& t) { return t.to(torch::kFloat32); };
    expect_tensors_close(x1.grad(), f32(x2.grad()), "d input");
    expect_batchnorm_close(fused_bn, plain_bn);
  }
}

INSTANTIATE_TEST_SUITE_P(
    Shapes, FusedBatchNormTest,
    ::testing::Values(Case{6, 8, 8, 8, FusedPool::kAvg2, true},
                      Case{5, 3, 7, 9, FusedPool::kAvg2, true},    // odd: last row/col dropped
                      Case{4, 16, 6, 6, FusedPool::kAvg2, false},  // NCHW input
                      Case{7, 64, 4, 4, FusedPool::kGlobal, true},
                      Case{3, 5, 3, 5, FusedPool::kGlobal, false},
                      Case{64, 8, 32, 32, FusedPool::kAvg2, true}));  // several chunks

TEST(FusedBatchNormTest, SameResultOnOneThreadAndTwo) {
  torch::manual_seed(4);
  torch::nn::BatchNorm2d bn(8);
  const torch::Tensor base =
      torch::randn({64, 8, 16, 16}).contiguous(at::MemoryFormat::ChannelsLast);
  const int threads = at::get_num_threads();
  std::vector<torch::Tensor> outs, grads;
  for (int t : {1, 2}) {
    at::set_num_threads(t);
    const torch::Tensor x = base.clone().requires_grad_(true);
    const torch::Tensor out = batchnorm_relu_pool(x, *bn, FusedPool::kAvg2);
    out.sum().backward();
    outs.push_back(out.detach());
    grads.push_back(x.grad());
  }
  at::set_num_threads(threads);
  expect_tensors_close(outs[0], outs[1], "output", 1e-5, 1e-6);
  expect_tensors_close(grads[0], grads[1], "d input", 1e-5, 1e-6);
}

TEST(FusedBatchNormTest, RefusesWhatItCannotTake) {
  torch::nn::BatchNorm2d bn(4);
  EXPECT_NE(
      error_of([&] {
        batchnorm_relu_pool(torch::randn({2, 4, 4, 4}, torch::kFloat64), *bn, FusedPool::kAvg2);
      }).find("float32"),
      std::string::npos);
  EXPECT_NE(error_of([&] {
              batchnorm_relu_pool(torch::randn({2, 3, 4, 4}), *bn, FusedPool::kAvg2);
            }).find("BatchNorm2d of 4 channels given 3"),
            std::string::npos);
  EXPECT_FALSE(fused_batchnorm_applies(torch::randn({2, 4})));
}

// Conv4 with and without the fused kernels: same features, same gradients
// of every parameter, same running statistics.
TEST(FusedBatchNormTest, Conv4FusedEqualsUnfused) {
  torch::manual_seed(5);
  Conv4 fused;
  torch::manual_seed(5);
  Conv4 plain;
  plain->set_fused(false);
  ASSERT_TRUE(fused->fused());
  for (const int64_t side : {32, 28}) {
    SCOPED_TRACE("side " + std::to_string(side));
    const torch::Tensor x = torch::randn({12, 3, side, side});
    const torch::Tensor w = torch::randn({12, 64});
    fused->zero_grad();
    plain->zero_grad();
    const torch::Tensor f1 = fused->forward(x), f2 = plain->forward(x);
    expect_tensors_close(f1, f2, "features");
    (f1 * w).sum().backward();
    (f2 * w).sum().backward();
    const auto p1 = fused->named_parameters(), p2 = plain->named_parameters();
    for (const auto& item : p1)
      expect_tensors_close(item.value().grad(), p2[item.key()].grad(), item.key(), 1e-3, 1e-4);
    const auto b1 = fused->named_buffers(), b2 = plain->named_buffers();
    for (const auto& item : b1) {
      expect_tensors_close(item.value().to(torch::kFloat64), b2[item.key()].to(torch::kFloat64),
                           item.key(), 1e-5, 1e-6);
    }
  }
}

double seconds_since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

// Not a check: prints the fused kernel's time against the modules' on
// Conv4's K=32 activations, on 1 and on 2 intra-op threads
// (docs/PERFORMANCE.md). Run with --gtest_also_run_disabled_tests.
TEST(FusedBatchNormTest, DISABLED_TimingAgainstTheModules) {
  const int saved_threads = at::get_num_threads();
  for (const int threads : {1, 2}) {
    at::set_num_threads(threads);
    for (const auto& shape : std::vector<std::vector<int64_t>>{
             {2048, 8, 32, 32}, {2048, 16, 16, 16}, {2048, 64, 4, 4}}) {
      const bool global = shape[2] == 4;
      torch::nn::BatchNorm2d fused_bn(shape[1]), plain_bn(shape[1]);
      const torch::Tensor base = torch::randn(shape).contiguous(at::MemoryFormat::ChannelsLast);
      for (int rep = 0; rep < 3; ++rep) {
        const torch::Tensor x1 = base.clone().requires_grad_(true);
        const torch::Tensor x2 = base.clone().requires_grad_(true);
        auto t = std::chrono::steady_clock::now();
        const torch::Tensor out =
            batchnorm_relu_pool(x1, *fused_bn, global ? FusedPool::kGlobal : FusedPool::kAvg2);
        const double fused_forward = seconds_since(t);
        const torch::Tensor grad = torch::ones_like(out);
        t = std::chrono::steady_clock::now();
        out.backward(grad);
        const double fused_backward = seconds_since(t);
        t = std::chrono::steady_clock::now();
        torch::Tensor ref = torch::relu(plain_bn->forward(x2));
        ref = global ? torch::adaptive_avg_pool2d(ref, {1, 1}) : torch::avg_pool2d(ref, {2, 2});
        const double plain_forward = seconds_since(t);
        t = std::chrono::steady_clock::now();
        ref.backward(grad);
        const double plain_backward = seconds_since(t);
        std::cout << threads << " threads, " << c10::str(base.sizes()) << ": fused forward "
                  << fused_forward << " s, backward " << fused_backward << " s | modules forward "
                  << plain_forward << " s, backward " << plain_backward << " s\n";
      }
    }
  }
  at::set_num_threads(saved_threads);
}

}  // namespace
}  // namespace relnet
