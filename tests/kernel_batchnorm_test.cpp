// The fused kernels' shared BatchNorm arithmetic (src/kernels/batchnorm.h),
// helper by helper, on small worked examples against plain LibTorch
// arithmetic (float64 references, or LibTorch's BatchNorm modules).
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <vector>

#include "kernels/batchnorm.h"
#include "kernels/vec16.h"
#include "test_util.h"

namespace relnet {
namespace {

using relnet::testing::error_of;
using relnet::testing::expect_tensors_close;

const auto f64 = torch::TensorOptions().dtype(torch::kFloat64);

// The kernels' per-chunk layout of two sums of C channels: chunk k's first
// sums at 2kC, its second at (2k + 1)C. `first` and `second` are (chunks, C).
std::vector<double> chunk_layout(const torch::Tensor& first, const torch::Tensor& second) {
  const torch::Tensor laid = torch::stack({first, second}, 1).to(torch::kFloat64).contiguous();
  return std::vector<double>(laid.data_ptr<double>(), laid.data_ptr<double>() + laid.numel());
}

torch::Tensor tensor_of(const std::vector<float>& v) { return torch::tensor(v, torch::kFloat32); }

TEST(KernelBatchNormTest, CountBatchNormStepCountsAndReturnsTheMomentum) {
  torch::Tensor steps = torch::zeros({}, torch::kInt64);
  EXPECT_DOUBLE_EQ(count_batchnorm_step(steps, 0.1), 0.1);
  EXPECT_EQ(steps.item<int64_t>(), 1);
  // Without a momentum: the cumulative average, 1 / steps counted so far.
  EXPECT_DOUBLE_EQ(count_batchnorm_step(steps, c10::nullopt), 1.0 / 2);
  EXPECT_DOUBLE_EQ(count_batchnorm_step(steps, c10::nullopt), 1.0 / 3);
  EXPECT_EQ(steps.item<int64_t>(), 3);
}

TEST(KernelBatchNormTest, StartBatchNorm2dStepChecksTheModuleAndCountsTheStep) {
  torch::nn::BatchNorm2d bn(torch::nn::BatchNorm2dOptions(4).momentum(0.25));
  EXPECT_DOUBLE_EQ(start_batchnorm2d_step(*bn, 4), 0.25);
  EXPECT_EQ(bn->num_batches_tracked.item<int64_t>(), 1);
  EXPECT_NE(error_of([&] {
              start_batchnorm2d_step(*bn, 3);
            }).find("BatchNorm2d of 4 channels given 3 channels"),
            std::string::npos);
  torch::nn::BatchNorm2d plain(torch::nn::BatchNorm2dOptions(4).affine(false));
  EXPECT_NE(error_of([&] { start_batchnorm2d_step(*plain, 4); }).find("affine"), std::string::npos);
  EXPECT_EQ(bn->num_batches_tracked.item<int64_t>(), 1);  // refused steps are not counted
}

TEST(KernelBatchNormTest, TotalChunkSumsAddsTheChunksOfEachSum) {
  // 3 chunks of 2 channels: first sums 1 2 | 3 4 | 5 6, second 10 20 | 30 40 | 50 60.
  const torch::Tensor first = torch::tensor({1., 2., 3., 4., 5., 6.}, f64).reshape({3, 2});
  const torch::Tensor second = first * 10;
  std::vector<double> a, b;
  total_chunk_sums(chunk_layout(first, second), 3, 2, a, b);
  EXPECT_EQ(a, (std::vector<double>{9, 12}));
  EXPECT_EQ(b, (std::vector<double>{90, 120}));
  expect_tensors_close(torch::tensor(a, f64), first.sum(0), "first totals", 0, 0);
  expect_tensors_close(torch::tensor(b, f64), second.sum(0), "second totals", 0, 0);
}

TEST(KernelBatchNormTest, UpdateRunningStatisticsIsBatchNorm1dsUpdate) {
  // x (M = 4, C = 2): mean 2.5 and 25, biased variance 1.25 and 125.
  const torch::Tensor x =
      torch::tensor({1.f, 10.f, 2.f, 20.f, 3.f, 30.f, 4.f, 40.f}).reshape({4, 2});
  torch::nn::BatchNorm1d bn(torch::nn::BatchNorm1dOptions(2).momentum(0.1));
  bn->running_mean.fill_(1.f);
  bn->running_var.fill_(2.f);
  torch::Tensor running_mean = torch::ones({2}), running_var = torch::full({2}, 2.f);
  bn->train();
  bn->forward(x);
  const torch::Tensor mean = x.mean(0), var = (x - mean).square().mean(0);  // biased
  update_running_statistics(running_mean, running_var, mean, var, 4, 0.1);
  // 0.9 * 1 + 0.1 * 2.5; 0.9 * 2 + 0.1 * (1.25 * 4 / 3).
  EXPECT_FLOAT_EQ(running_mean[0].item<float>(), 0.9f + 0.25f);
  EXPECT_FLOAT_EQ(running_var[0].item<float>(), 1.8f + 0.1f * 5.f / 3.f);
  expect_tensors_close(running_mean, bn->running_mean, "running mean", 1e-6, 0);
  expect_tensors_close(running_var, bn->running_var, "running var", 1e-6, 0);
  // Float64 statistics update float32 buffers the same way.
  torch::Tensor rm64 = torch::ones({2}), rv64 = torch::full({2}, 2.f);
  update_running_statistics(rm64, rv64, mean.to(torch::kFloat64), var.to(torch::kFloat64), 4, 0.1);
  EXPECT_EQ(rm64.scalar_type(), torch::kFloat32);
  expect_tensors_close(rm64, running_mean, "running mean from float64", 0, 0);
  expect_tensors_close(rv64, running_var, "running var from float64", 0, 0);
}

TEST(KernelBatchNormTest, BatchMomentsFromChunkSumsAreBatchNorm2dsStatistics) {
  torch::manual_seed(3);
  const torch::Tensor x = torch::randn({4, 3, 5, 5}) * 2 + 1;  // M = 100 values per channel
  const double eps = 1e-5;
  // Two chunks of two images each, as a kernel would sum them.
  const torch::Tensor xd = x.to(torch::kFloat64);
  const torch::Tensor s = xd.reshape({2, 2, 3, 25}).sum({1, 3});
  const torch::Tensor q = (xd * xd).reshape({2, 2, 3, 25}).sum({1, 3});
  torch::nn::BatchNorm2d bn(torch::nn::BatchNorm2dOptions(3).momentum(0.1).eps(eps));
  torch::Tensor running_mean = torch::zeros({3}), running_var = torch::ones({3});
  const BatchMoments m =
      batch_moments(chunk_layout(s, q), 2, 3, 100, eps, running_mean, running_var, 0.1);
  bn->train();
  bn->forward(x);
  const torch::Tensor var =  // biased
      (xd - xd.mean({0, 2, 3}, true)).square().mean({0, 2, 3});
  expect_tensors_close(m.mean, xd.mean({0, 2, 3}).to(torch::kFloat32), "mean", 1e-6, 1e-7);
  expect_tensors_close(m.invstd, (var + eps).rsqrt().to(torch::kFloat32), "invstd", 1e-6, 0);
  expect_tensors_close(running_mean, bn->running_mean, "running mean", 1e-5, 1e-7);
  expect_tensors_close(running_var, bn->running_var, "running var", 1e-5, 1e-7);
}

TEST(KernelBatchNormTest, BatchNormAffineFoldsTheNormalisationIntoScaleAndShift) {
  // gamma 2, 0.5; beta 1, -1; mean 3, 4; invstd 0.5, 2: scale 1, 1; shift -2, -5.
  const std::vector<float> gamma{2.f, 0.5f}, beta{1.f, -1.f}, mean{3.f, 4.f}, invstd{0.5f, 2.f};
  std::vector<float> scale(2), shift(2);
  batchnorm_affine(gamma.data(), beta.data(), mean.data(), invstd.data(), 2, scale.data(),
                   shift.data());
  EXPECT_EQ(scale, (std::vector<float>{1.f, 1.f}));
  EXPECT_EQ(shift, (std::vector<float>{-2.f, -5.f}));
  // x * scale + shift is gamma * (x - mean) * invstd + beta.
  torch::manual_seed(4);
  const torch::Tensor x = torch::randn({6, 2}) * 3;
  expect_tensors_close(
      x * tensor_of(scale) + tensor_of(shift),
      (x - tensor_of(mean)) * tensor_of(invstd) * tensor_of(gamma) + tensor_of(beta), "affine",
      1e-6, 1e-6);
}

// BatchNorm2d -> ReLU in float64 by autograd against the helpers: the
// gradient constants, the backward totals and both forms of the input
// gradient, on a small batch split into two chunks.
TEST(KernelBatchNormTest, BackwardConstantsGiveAutogradsGradients) {
  torch::manual_seed(5);
  const int64_t N = 4, C = 3, H = 3, W = 2, M = N * H * W;
  const double eps = 1e-5;
  const torch::Tensor y = torch::randn({N, C, H, W}, f64);
  const torch::Tensor gamma = torch::rand({C}, f64) + 0.5, beta = torch::randn({C}, f64);
  const torch::Tensor grad = torch::randn({N, C, H, W}, f64);  // at ReLU's output
  const torch::Tensor yv = y.clone().requires_grad_(), gv = gamma.clone().requires_grad_();
  const torch::Tensor bv = beta.clone().requires_grad_();
  const torch::Tensor out =
      torch::relu(torch::batch_norm(yv, gv, bv, {}, {}, true, 0.1, eps, false));
  out.backward(grad);

  const torch::Tensor mean = y.mean({0, 2, 3});
  const torch::Tensor var = (y - mean.reshape({1, C, 1, 1})).square().mean({0, 2, 3});
  const torch::Tensor invstd = (var + eps).rsqrt();
  const auto f32 = [](const torch::Tensor& t) { return t.to(torch::kFloat32).contiguous(); };
  const torch::Tensor g32 = f32(gamma), b32 = f32(beta), m32 = f32(mean), i32 = f32(invstd);
  BatchNormGradient k =
      batchnorm_gradient_constants(g32.data_ptr<float>(), b32.data_ptr<float>(),
                                   m32.data_ptr<float>(), i32.data_ptr<float>(), C);
  ASSERT_EQ(k.scale.size(), static_cast<size_t>(C));
  const auto col = [C](const std::vector<float>& v) {
    return torch::tensor(v, torch::kFloat64).reshape({1, C, 1, 1});
  };
  expect_tensors_close(col(k.scale), (gamma * invstd).reshape({1, C, 1, 1}), "scale", 1e-6, 0);

  // du: the gradient gated by the ReLU (relu_gated, per float), then its two
  // chunk sums as a kernel takes them.
  const torch::Tensor y32 = f32(y), grad32 = f32(grad);
  torch::Tensor du = torch::empty_like(y32);
  for (int64_t i = 0; i < y32.numel(); ++i) {
    const int64_t c = (i / (H * W)) % C;
    du.data_ptr<float>()[i] =
        relu_gated(y32.data_ptr<float>()[i], k.scale[c], k.shift[c], grad32.data_ptr<float>()[i]);
  }
  expect_tensors_close(du, grad32 * (out > 0), "relu_gated", 0, 0);
  const torch::Tensor dud = du.to(torch::kFloat64),
                      xhat = (y - mean.reshape({1, C, 1, 1})) * invstd.reshape({1, C, 1, 1});
  const torch::Tensor s = dud.reshape({2, 2, C, H * W}).sum({1, 3});
  const torch::Tensor q = (dud * xhat).reshape({2, 2, C, H * W}).sum({1, 3});
  torch::Tensor dgamma, dbeta;
  batchnorm_backward_totals(chunk_layout(s, q), 2, static_cast<double>(M), k, dgamma, dbeta);
  expect_tensors_close(dgamma, f32(gv.grad()), "d gamma", 1e-5, 1e-6);
  expect_tensors_close(dbeta, f32(bv.grad()), "d beta", 1e-5, 1e-6);

  // Both forms of BatchNorm's input gradient: scale du - b - c xhat and
  // scale du + k0 + k1 y (batchnorm_input_gradient).
  const torch::Tensor dy_bc = col(k.scale) * dud - col(k.b) - col(k.c) * xhat;
  expect_tensors_close(dy_bc, yv.grad(), "dy = scale du - b - c xhat", 1e-4, 1e-5);
  torch::Tensor dy = torch::empty_like(y32);
  for (int64_t i = 0; i < y32.numel(); ++i) {
    const int64_t c = (i / (H * W)) % C;
    dy.data_ptr<float>()[i] = batchnorm_input_gradient(
        du.data_ptr<float>()[i], y32.data_ptr<float>()[i], k.scale[c], k.k0[c], k.k1[c]);
  }
  expect_tensors_close(dy.to(torch::kFloat64), yv.grad(), "dy = scale du + k0 + k1 y", 1e-4, 1e-5);
}

// The element helpers give the same lanes on a 16-float vector as on floats.
TEST(KernelBatchNormTest, ElementHelpersAgreeOnFloatsAndVectors) {
  // Worked: y -1, 0, 2, NaN with scale 1, shift 0: only y = 2 passes g.
  EXPECT_EQ(relu_gated(-1.f, 1.f, 0.f, 5.f), 0.f);
  EXPECT_EQ(relu_gated(0.f, 1.f, 0.f, 5.f), 0.f);
  EXPECT_EQ(relu_gated(2.f, 1.f, 0.f, 5.f), 5.f);
  EXPECT_EQ(relu_gated(std::nanf(""), 1.f, 0.f, 5.f), 0.f);
  // 2 * 3 + 1 + 0.5 * 4 = 9.
  EXPECT_EQ(batchnorm_input_gradient(3.f, 4.f, 2.f, 1.f, 0.5f), 9.f);

  using vec16::vec;
  torch::manual_seed(6);
  const torch::Tensor t = torch::randn({5, vec16::kLanes});
  const float* p = t.data_ptr<float>();
  const vec y = vec16::load(p), g = vec16::load(p + 16), k0 = vec16::load(p + 32);
  const vec k1 = vec16::load(p + 48), scale = vec16::load(p + 64);
  const vec du = relu_gated(y, scale, vec16::splat(0.25f), g);
  const vec dy = batchnorm_input_gradient(du, y, scale, k0, k1);
  for (int64_t l = 0; l < vec16::kLanes; ++l) {
    const float d = relu_gated(p[l], p[64 + l], 0.25f, p[16 + l]);
    EXPECT_EQ(du[l], d) << "lane " << l;
    EXPECT_EQ(dy[l], batchnorm_input_gradient(d, p[l], p[64 + l], p[32 + l], p[48 + l]))
        << "lane " << l;
  }
}

}  // namespace
}  // namespace relnet
