// Tests of the step memory estimate: the backbone's measured bytes grow with
// the inputs and their side, the estimate with K and B, the refusal names
// the knobs, and training refuses a step that could never fit before it
// starts. (Predicted against measured peak RSS: scripts/memory_check.sh,
// docs/PERFORMANCE.md.)
#include "relnet/train/memory.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "relnet/train/trainer.h"
#include "test_util.h"

namespace relnet {
namespace {

using relnet::testing::error_of;
using relnet::testing::TempDir;

TEST(MemoryTest, BackboneBytesGrowWithTheSideAndLeaveTheGeneratorAlone) {
  torch::manual_seed(3);
  const torch::Tensor expected = torch::rand({4});
  torch::manual_seed(3);
  const auto [fixed16, per16] = backbone_step_bytes("conv4", true, torch::kCPU, 16);
  const auto [fixed32, per32] = backbone_step_bytes("conv4", true, torch::kCPU, 32);
  EXPECT_TRUE(torch::equal(torch::rand({4}), expected)) << "the probe drew from the generator";
  EXPECT_GT(per16, 16 * 16 * 3 * 4);  // at least the input itself
  EXPECT_GT(per32, 2 * per16);        // 4x the pixels; the fused kernels keep some maps only
  EXPECT_LT(per32, 5 * per16);
  EXPECT_GE(fixed16, 0);
  EXPECT_GE(fixed32, 0);
}

StepShape relational_shape(int64_t K, int64_t B) {
  StepShape s;
  s.backbone = "conv4";
  s.method = "relational";
  s.views = s.inputs = K;
  s.batch_size = B;
  s.side = 32;
  s.parameters = 100000;
  return s;
}

TEST(MemoryTest, EstimateGrowsWithKAndB) {
  const StepMemory small = estimate_step_memory(relational_shape(4, 16));
  const StepMemory more_views = estimate_step_memory(relational_shape(8, 16));
  const StepMemory bigger_batch = estimate_step_memory(relational_shape(4, 64));
  EXPECT_EQ(small.weights, 400000);
  EXPECT_EQ(small.gradients, 400000);
  EXPECT_EQ(small.optimizer, 800000);  // Adam: two per parameter
  EXPECT_GT(more_views.activations, small.activations * 3 / 2);
  EXPECT_GT(more_views.method, small.method * 2);  // pairs grow as K(K-1), projections as K
  EXPECT_GT(bigger_batch.activations, small.activations * 3);
  EXPECT_GT(more_views.total(), small.total());
}

TEST(MemoryTest, RefusalNamesTheEstimateTheMemoryAndTheKnobs) {
  const StepShape s = relational_shape(32, 256);
  StepMemory need;
  need.activations = int64_t{3} << 30;
  need.method = int64_t{1} << 30;
  EXPECT_EQ(memory_refusal(need, 1, {int64_t{5} << 30, "MemAvailable"}, s), "");
  EXPECT_EQ(memory_refusal(need, 1, {-1, ""}, s), "") << "unknown memory is never refused";
  EXPECT_EQ(memory_refusal(need, 1, {int64_t{2} << 30, "MemAvailable"}, s),
            "a training step needs about 4.0 GiB (activations 3.0 GiB for 8192 backbone inputs "
            "of 32x32, method 1.0 GiB, weights, gradients and optimizer state 0 KiB, batch 0 KiB) "
            "but only 2.0 GiB is available (MemAvailable): lower train.batch_size (now 256), "
            "augment.K (now 32) or data.image_size (now 32), or pass --force to start anyway");
  const std::string two = memory_refusal(need, 2, {int64_t{6} << 30, "the cgroup limit"}, s);
  EXPECT_EQ(two.rfind("a training step needs about 8.0 GiB for 2 processes", 0), 0u) << two;
}

TEST(MemoryTest, AvailableMemoryIsReadOnLinux) {
  const AvailableMemory m = available_memory(torch::kCPU);
  EXPECT_GT(m.bytes, 0);
  EXPECT_FALSE(m.source.empty());
}

// K = 256 and a 65536-wide head without the fused kernel: (P, hidden) for
// P = K(K-1)B pairs is terabytes. Refused before the first step, naming
// the knobs, with nothing trained.
TEST(MemoryTest, TrainingRefusesAStepThatCannotFit) {
  TempDir dir("memory_refusal");
  std::filesystem::create_directories(dir / "data");
  relnet::testing::write_tiny_mnist(dir / "data", 32, 16, 16);
  Config c = relnet::testing::tiny_mnist_config(dir / "data", dir / "run");
  c.augment.K = 256;
  c.model.head_hidden = 65536;
  c.model.fused = false;
  const std::string error = error_of([&] { train(c, false); });
  EXPECT_EQ(error.rfind("a training step needs about ", 0), 0u) << error;
  EXPECT_NE(error.find("lower train.batch_size (now 16), augment.K (now 256) or data.image_size "
                       "(now 16), or pass --force to start anyway"),
            std::string::npos)
      << error;
  EXPECT_FALSE(std::filesystem::exists(c.train.out_dir + "/checkpoint.pt"));
}

}  // namespace
}  // namespace relnet
