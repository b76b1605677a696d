// The fused first Conv4 block (conv3x3 -> BatchNorm2d -> ReLU -> AvgPool2d)
// against LibTorch's modules.
#include "relnet/models/fused_conv_block.h"

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

torch::nn::Conv2d first_conv(int64_t in) {
  return torch::nn::Conv2d(torch::nn::Conv2dOptions(in, 8, 3).padding(1).bias(false));
}

struct Case {
  int64_t N, Cin, H, W;
  bool channels_last;
};

class FusedConvBlockTest : public ::testing::TestWithParam<Case> {};

// Output, gradients of the convolution's weight and of BatchNorm's weight and
// bias, and the running statistics after two training steps equal the
// modules' (run in float64), odd sizes and rows of several blocks included.
TEST_P(FusedConvBlockTest, EqualsTheModules) {
  const Case c = GetParam();
  torch::manual_seed(7);
  torch::nn::Conv2d fused_conv = first_conv(c.Cin), plain_conv = first_conv(c.Cin);
  torch::nn::BatchNorm2d fused_bn(8), plain_bn(8);
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
    torch::Tensor x = torch::randn({c.N, c.Cin, c.H, c.W}) * 1.5 + 0.2;
    if (c.channels_last) x = x.contiguous(at::MemoryFormat::ChannelsLast);
    ASSERT_TRUE(fused_conv_block_applies(x, *fused_conv));
    const torch::Tensor out = conv_batchnorm_relu_pool(x, *fused_conv, *fused_bn);
    const torch::Tensor ref = torch::avg_pool2d(
        torch::relu(plain_bn->forward(plain_conv->forward(x.to(torch::kFloat64)))), {2, 2});
    expect_tensors_close(out, ref.to(torch::kFloat32), "output");
    EXPECT_TRUE(out.is_contiguous());
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
    // A step moves the weights, so that the second step differs from the first.
    torch::NoGradGuard no_grad;
    fused_conv->weight.sub_(fused_conv->weight.grad() * 0.1);
    plain_conv->weight.copy_(fused_conv->weight);
  }
}

INSTANTIATE_TEST_SUITE_P(
    Shapes, FusedConvBlockTest,
    ::testing::Values(Case{4, 3, 32, 32, false},     // CIFAR, one block per row
                      Case{3, 3, 28, 28, true},      // Fashion-MNIST side, channels-last input
                      Case{2, 1, 28, 28, false},     // one input channel
                      Case{2, 3, 9, 35, false},      // odd sides, two blocks per row
                      Case{2, 4, 2, 2, false},       // the smallest image
                      Case{40, 3, 16, 16, false}));  // several chunks of over 16 images

TEST(FusedConvBlockTest, SameResultOnOneThreadAndTwo) {
  torch::manual_seed(8);
  torch::nn::Conv2d conv = first_conv(3);
  torch::nn::BatchNorm2d bn(8);
  const torch::Tensor x = torch::randn({48, 3, 16, 16});
  const torch::Tensor w = torch::randn({48, 8, 8, 8});
  const int threads = at::get_num_threads();
  std::vector<torch::Tensor> outs, grads;
  for (int t : {1, 2}) {
    at::set_num_threads(t);
    conv->zero_grad();
    const torch::Tensor out = conv_batchnorm_relu_pool(x, *conv, *bn);
    (out * w).sum().backward();
    outs.push_back(out.detach());
    grads.push_back(conv->weight.grad().clone());
  }
  at::set_num_threads(threads);
  expect_tensors_close(outs[0], outs[1], "output", 1e-5, 1e-6);
  // Float sums over a chunk's images: 1 and 2 chunks add in another order,
  // a rounding error relative to the largest gradient (about 100 here).
  const double largest = grads[0].abs().max().item<double>();
  expect_tensors_close(grads[0], grads[1], "d conv weight", 1e-5, 1e-6 * largest);
}

// A non-finite input shows in the output, as through the modules, so that
// training stops on a diverging loss instead of going on with zeros.
TEST(FusedConvBlockTest, NonFiniteInputGivesNaN) {
  torch::nn::Conv2d conv = first_conv(3);
  torch::nn::BatchNorm2d bn(8);
  const torch::Tensor x = torch::full({2, 3, 8, 8}, -std::numeric_limits<float>::infinity());
  EXPECT_TRUE(torch::isnan(conv_batchnorm_relu_pool(x, *conv, *bn)).all().item<bool>());
}

TEST(FusedConvBlockTest, AppliesOnlyToWhatItComputes) {
  torch::nn::Conv2d conv = first_conv(3);
  const torch::Tensor x = torch::randn({2, 3, 8, 8});
  EXPECT_TRUE(fused_conv_block_applies(x, *conv));
  EXPECT_FALSE(fused_conv_block_applies(x.clone().requires_grad_(true), *conv));
  EXPECT_FALSE(fused_conv_block_applies(x.to(torch::kFloat64), *conv));
  EXPECT_FALSE(fused_conv_block_applies(torch::randn({2, 4, 8, 8}), *conv));
  EXPECT_FALSE(fused_conv_block_applies(torch::randn({2, 3, 1, 8}), *conv));
  EXPECT_FALSE(fused_conv_block_applies(
      x, *torch::nn::Conv2d(torch::nn::Conv2dOptions(3, 8, 3).padding(1).stride(2))));
  EXPECT_FALSE(fused_conv_block_applies(
      x, *torch::nn::Conv2d(torch::nn::Conv2dOptions(3, 16, 3).padding(1))));
  torch::nn::BatchNorm2d bn(8);
  EXPECT_NE(error_of([&] {
              conv_batchnorm_relu_pool(x.clone().requires_grad_(true), *conv, *bn);
            }).find("needs no gradient"),
            std::string::npos);
  torch::nn::BatchNorm2d bn4(4);
  EXPECT_NE(
      error_of([&] { conv_batchnorm_relu_pool(x, *conv, *bn4); }).find("BatchNorm2d of 4 channels"),
      std::string::npos);
}

// The convolution both block kernels compute: Conv4's, and nothing else.
TEST(FusedConvBlockTest, SameSizeConv3x3IsConv4sConvolution) {
  const auto conv4s = torch::nn::Conv2dOptions(8, 16, 3).padding(1).bias(false);
  EXPECT_TRUE(is_same_size_conv3x3(*torch::nn::Conv2d(conv4s)));
  using Options = torch::nn::Conv2dOptions;
  for (const Options& other :
       {Options(conv4s).bias(true), Options(conv4s).stride(2), Options(conv4s).padding(0),
        Options(conv4s).padding_mode(torch::kReflect), Options(conv4s).dilation(2),
        Options(8, 16, 3).padding(1).bias(false).groups(2), Options(8, 16, 5).padding(1)}) {
    EXPECT_FALSE(is_same_size_conv3x3(*torch::nn::Conv2d(other)));
  }
  torch::nn::Conv2d doubles(conv4s);
  doubles->to(torch::kFloat64);
  EXPECT_FALSE(is_same_size_conv3x3(*doubles));
}

// Not a check: prints the fused block's time against LibTorch's convolution
// followed by the fused BatchNorm kernel, on Conv4's first block at K=32 x 64
// CIFAR images (docs/PERFORMANCE.md). Run with --gtest_also_run_disabled_tests.
TEST(FusedConvBlockTest, DISABLED_TimingAgainstConvolutionAndFusedBatchNorm) {
  torch::manual_seed(9);
  torch::nn::Conv2d conv = first_conv(3);
  torch::nn::BatchNorm2d bn(8);
  const torch::Tensor x = torch::randn({2048, 3, 32, 32});
  testing::print_block_timings(
      [&] { return conv_batchnorm_relu_pool(x, *conv, *bn); },
      [&] {
        const torch::Tensor x_cl = x.contiguous(at::MemoryFormat::ChannelsLast);
        return batchnorm_relu_pool(conv->forward(x_cl), *bn, FusedPool::kAvg2);
      },
      [&] { conv->zero_grad(); });
}

}  // namespace
}  // namespace relnet
