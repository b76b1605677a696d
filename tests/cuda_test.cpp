// What only a GPU can check: skipped, with the reason, on machines without
// CUDA (CI); run by scripts/gpu-check.sh where one is present.
#include <gtest/gtest.h>
#include <torch/cuda.h>

#include "relnet/augment/batcher.h"
#include "relnet/methods/relational.h"
#include "relnet/models/backbone.h"
#include "relnet/train/step.h"
#include "relnet/util/runtime.h"

namespace relnet {
namespace {

#define REQUIRE_CUDA()              \
  if (!torch::cuda::is_available()) \
  GTEST_SKIP() << "no CUDA device (this LibTorch or machine has none)"

// The same weights give the same features on CPU and GPU (eval mode).
TEST(CudaTest, BackboneForwardAgreesWithTheCpu) {
  REQUIRE_CUDA();
  for (const char* name : {"conv4", "resnet32", "resnet18"}) {
    SCOPED_TRACE(name);
    torch::manual_seed(3);
    Backbone cpu = make_backbone(name);
    Backbone gpu = make_backbone(name);
    torch::NoGradGuard no_grad;
    auto cp = cpu->parameters(), gp = gpu->parameters();
    for (size_t i = 0; i < cp.size(); ++i) gp[i].copy_(cp[i]);
    auto cb = cpu->buffers(), gb = gpu->buffers();
    for (size_t i = 0; i < cb.size(); ++i) gb[i].copy_(cb[i]);
    cpu->eval();
    gpu->eval();
    gpu->to(torch::kCUDA);
    const auto x = torch::randn({8, 3, 32, 32});
    const auto a = cpu->forward(x);
    const auto b = gpu->forward(x.to(torch::kCUDA)).to(torch::kCPU);
    EXPECT_TRUE(torch::allclose(a, b, 1e-3, 1e-4)) << (a - b).abs().max().item<double>();
  }
}

// A training step on the GPU: fp32 close to the CPU's loss, bf16 finite and close.
TEST(CudaTest, StepOnTheGpuMatchesTheCpuAndBf16IsClose) {
  REQUIRE_CUDA();
  const int64_t K = 4, B = 8;
  torch::manual_seed(5);
  Backbone backbone = make_backbone("conv4");
  Config config;
  config.augment.K = K;
  ImageDataset data;
  RelationalMethod method(MethodContext{&config, &data, Normalization{}, torch::kCPU, backbone});
  const auto views = torch::randn({K * B, 3, 32, 32});
  TrainStep cpu_step(backbone, method);
  const double cpu_loss = cpu_step.forward_backward({views, torch::arange(B)}).loss.item<double>();
  backbone->to(torch::kCUDA);
  method.head()->to(torch::kCUDA);
  configure_cudnn(/*deterministic=*/true);
  TrainStep gpu_step(backbone, method);
  const auto out = gpu_step.forward_backward({views.to(torch::kCUDA), torch::arange(B)});
  EXPECT_NEAR(out.loss.item<double>(), cpu_loss, 1e-3);
  gpu_step.set_bf16(true);
  const auto bf16 = gpu_step.forward_backward({views.to(torch::kCUDA), torch::arange(B)});
  EXPECT_EQ(bf16.loss.scalar_type(), torch::kFloat32);
  EXPECT_NEAR(bf16.loss.item<double>(), cpu_loss, 0.03);
  EXPECT_TRUE(out.metrics.is_cuda());  // read later, without a synchronisation per step
  configure_cudnn(/*deterministic=*/false);
}

// Views for a CUDA run are built in pinned memory for asynchronous copies.
TEST(CudaTest, BatcherPinsViewsForTheGpu) {
  REQUIRE_CUDA();
  ImageDataset d;
  d.name = "noise";
  d.images = torch::randint(0, 255, {16, 3, 8, 8}, torch::kUInt8);
  d.labels = torch::zeros({16}, torch::kInt64);
  const ViewAugmenter aug(AugmentConfig{}, Normalization{}, 8);
  ViewBatcher batcher(d, aug, 2, 4, 1, 1, 2, 0, 1, /*pin_memory=*/true);
  batcher.start_epoch(0);
  const auto batch = batcher.next();
  ASSERT_TRUE(batch.has_value());
  EXPECT_TRUE(batch->views.is_pinned());
}

}  // namespace
}  // namespace relnet
