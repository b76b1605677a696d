// The fused second Conv4 block (conv3x3 8 -> 16 -> BatchNorm2d -> ReLU ->
// AvgPool2d) against LibTorch's modules.
#include "relnet/models/fused_second_block.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <limits>

#include "relnet/models/fused_batchnorm.h"
#include "test_util.h"

namespace relnet {
namespace {

using relnet::testing::error_of;
using relnet::testing::expect_batchnorm_close;
using relnet::testing::expect_tensors_close;

torch::nn::Conv2d second_conv() {
  return torch::nn::Conv2d(torch::nn::Conv2dOptions(8, 16, 3).padding(1).bias(false));
}

struct Case {
  int64_t N, H, W;
  bool channels_last;
  bool input_grad;
};

class FusedSecondBlockTest : public ::testing::TestWithParam<Case> {};

// Output, gradients of the input, of the convolution's weight and of
// BatchNorm's weight and bias, and the running statistics after two training
// steps equal the modules' (run in float64), odd sizes and rows of several
// blocks included.
TEST_P(FusedSecondBlockTest, EqualsTheModules) {
  const Case c = GetParam();
  torch::manual_seed(11);
  torch::nn::Conv2d fused_conv = second_conv(), plain_conv = second_conv();
  torch::nn::BatchNorm2d fused_bn(16), plain_bn(16);
  {
    torch::NoGradGuard no_grad;
    fused_bn->weight.uniform_(0.5, 1.5);
    fused_bn->bias.uniform_(-0.5, 0.5);
    plain_conv->to(torch::kFloat64);
    plain_bn->to(torch::kFloat64);
    plain_conv->weight.copy_(fused_conv->weight);
    plain_bn->weight.copy_(fused_bn->weight);
    plain_bn->bias.copy_(fused_bn->bias);
  }
  for (int step = 0; step < 2; ++step) {
    SCOPED_TRACE("step " + std::to_string(step));
    // Like the first block's output: pooled ReLUs, non-negative.
    torch::Tensor x = torch::relu(torch::randn({c.N, 8, c.H, c.W}) + 0.3);
    if (c.channels_last) x = x.contiguous(at::MemoryFormat::ChannelsLast);
    torch::Tensor x64 = x.to(torch::kFloat64);
    x.requires_grad_(c.input_grad);
    x64.requires_grad_(c.input_grad);
    ASSERT_TRUE(fused_second_block_applies(x, *fused_conv));
    const torch::Tensor out = fused_second_block(x, *fused_conv, *fused_bn);
    const torch::Tensor ref =
        torch::avg_pool2d(torch::relu(plain_bn->forward(plain_conv->forward(x64))), {2, 2});
    expect_tensors_close(out, ref.to(torch::kFloat32), "output");
    EXPECT_TRUE(out.is_contiguous(at::MemoryFormat::ChannelsLast));
    const torch::Tensor grad = torch::randn(ref.sizes());
    fused_conv->zero_grad();
    fused_bn->zero_grad();
    plain_conv->zero_grad();
    plain_bn->zero_grad();
    out.backward(grad);
    ref.backward(grad.to(torch::kFloat64));
    const auto f32 = [](const torch::Tensor& t) { return t.to(torch::kFloat32); };
    expect_tensors_close(fused_conv->weight.grad(), f32(plain_conv->weight.grad()),
                         "d conv weight");
    expect_batchnorm_close(fused_bn, plain_bn);
    if (c.input_grad) {
      expect_tensors_close(x.grad(), f32(x64.grad()), "d input");
    } else {
      EXPECT_FALSE(x.grad().defined());
    }
    // A step moves the weights, so that the second step differs from the first.
    torch::NoGradGuard no_grad;
    fused_conv->weight.sub_(fused_conv->weight.grad() * 0.1);
    plain_conv->weight.copy_(fused_conv->weight);
  }
}

INSTANTIATE_TEST_SUITE_P(
    Shapes, FusedSecondBlockTest,
    ::testing::Values(Case{4, 16, 16, false, true},   // CIFAR: one full block per row
                      Case{3, 14, 14, false, true},   // Fashion-MNIST: a part block
                      Case{3, 16, 16, true, true},    // channels-last input
                      Case{2, 9, 35, false, true},    // odd sides, three blocks per row
                      Case{2, 2, 2, false, true},     // the smallest input
                      Case{3, 16, 16, false, false},  // an input without gradient
                      Case{40, 8, 8, false, true}));  // several chunks, a float flush

TEST(FusedSecondBlockTest, SameResultOnOneThreadAndTwo) {
  torch::manual_seed(12);
  torch::nn::Conv2d conv = second_conv();
  torch::nn::BatchNorm2d bn(16);
  const torch::Tensor x = torch::rand({48, 8, 16, 16}).requires_grad_(true);
  const torch::Tensor w = torch::randn({48, 16, 8, 8});
  const int threads = at::get_num_threads();
  std::vector<torch::Tensor> outs, grads, dxs;
  for (int t : {1, 2}) {
    at::set_num_threads(t);
    conv->zero_grad();
    x.mutable_grad() = torch::Tensor();
    const torch::Tensor out = fused_second_block(x, *conv, *bn);
    (out * w).sum().backward();
    outs.push_back(out.detach());
    grads.push_back(conv->weight.grad().clone());
    dxs.push_back(x.grad().clone());
  }
  at::set_num_threads(threads);
  expect_tensors_close(outs[0], outs[1], "output", 1e-5, 1e-6);
  expect_tensors_close(dxs[0], dxs[1], "d input", 1e-5, 1e-6);
  // Float sums over a chunk's images: 1 and 2 chunks add in another order,
  // a rounding error relative to the largest gradient.
  const double largest = grads[0].abs().max().item<double>();
  expect_tensors_close(grads[0], grads[1], "d conv weight", 1e-5, 1e-6 * largest);
}

// A non-finite input shows in the output, as through the modules, so that
// training stops on a diverging loss instead of going on with zeros.
TEST(FusedSecondBlockTest, NonFiniteInputGivesNaN) {
  torch::nn::Conv2d conv = second_conv();
  torch::nn::BatchNorm2d bn(16);
  torch::Tensor x = torch::rand({2, 8, 8, 8});
  x[0][3][4][4] = std::numeric_limits<float>::infinity();
  EXPECT_TRUE(torch::isnan(fused_second_block(x, *conv, *bn)).any().item<bool>());
}

TEST(FusedSecondBlockTest, AppliesOnlyToWhatItComputes) {
  torch::nn::Conv2d conv = second_conv();
  const torch::Tensor x = torch::randn({2, 8, 8, 8});
  EXPECT_TRUE(fused_second_block_applies(x, *conv));
  EXPECT_TRUE(fused_second_block_applies(x.clone().requires_grad_(true), *conv));
  EXPECT_FALSE(fused_second_block_applies(x.to(torch::kFloat64), *conv));
  EXPECT_FALSE(fused_second_block_applies(torch::randn({2, 3, 8, 8}), *conv));
  EXPECT_FALSE(fused_second_block_applies(torch::randn({2, 8, 1, 8}), *conv));
  // Other convolutions than Conv4's (FusedConvBlockTest checks them all).
  EXPECT_FALSE(fused_second_block_applies(
      x, *torch::nn::Conv2d(torch::nn::Conv2dOptions(8, 16, 3).padding(1).bias(true))));
  EXPECT_FALSE(fused_second_block_applies(
      x, *torch::nn::Conv2d(torch::nn::Conv2dOptions(8, 32, 3).padding(1).bias(false))));
  torch::nn::BatchNorm2d bn(16);
  EXPECT_NE(error_of([&] {
              fused_second_block(torch::randn({2, 4, 8, 8}), *conv, *bn);
            }).find("8 channels"),
            std::string::npos);
  torch::nn::BatchNorm2d bn8(8);
  EXPECT_NE(error_of([&] { fused_second_block(x, *conv, *bn8); }).find("BatchNorm2d of 8 channels"),
            std::string::npos);
}

// Not a check: prints the fused block's time against LibTorch's convolution
// followed by the fused BatchNorm kernel, on Conv4's second block at K=32 x
// 64 CIFAR images (docs/PERFORMANCE.md). Run with
// --gtest_also_run_disabled_tests.
TEST(FusedSecondBlockTest, DISABLED_TimingAgainstConvolutionAndFusedBatchNorm) {
  torch::manual_seed(13);
  torch::nn::Conv2d conv = second_conv();
  torch::nn::BatchNorm2d bn(16);
  const torch::Tensor x = torch::rand({2048, 8, 16, 16}).requires_grad_(true);
  const torch::Tensor x_cl =
      x.detach().contiguous(at::MemoryFormat::ChannelsLast).requires_grad_(true);
  testing::print_block_timings(
      [&] { return fused_second_block(x, *conv, *bn); },
      [&] { return batchnorm_relu_pool(conv->forward(x_cl), *bn, FusedPool::kAvg2); },
      [&] { conv->zero_grad(); });
}

}  // namespace
}  // namespace relnet
