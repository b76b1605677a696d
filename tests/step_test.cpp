// The shared training step: the two-stage backward equals loss.backward(),
// and the projected head path equals the paper's pairs matrix.
#include "relnet/train/step.h"

#include <gtest/gtest.h>

#include "relnet/methods/relational.h"
#include "relnet/train/checkpoint.h"

namespace relnet {
namespace {

// Relational reasoning with K views over `backbone`, its head drawn now.
struct Relational {
  Config config;
  ImageDataset data;
  std::unique_ptr<RelationalMethod> method;
  Relational(const Backbone& backbone, int64_t K, bool pairs_matrix) {
    config.augment.K = K;
    config.model.pairs_matrix = pairs_matrix;
    method = std::make_unique<RelationalMethod>(
        MethodContext{&config, &data, Normalization{}, torch::kCPU, backbone});
  }
};

std::vector<torch::Tensor> grads_of(torch::nn::Module& a, torch::nn::Module& b) {
  std::vector<torch::Tensor> out;
  for (auto& p : a.parameters()) out.push_back(p.grad().clone());
  for (auto& p : b.parameters()) out.push_back(p.grad().clone());
  return out;
}

TEST(StepTest, TwoStageBackwardEqualsOneBackwardOnBothPaths) {
  const int64_t K = 4, B = 5;
  torch::manual_seed(5);
  Backbone backbone = make_backbone("conv4");
  Relational reference(backbone, K, false);
  RelationHead head = reference.method->head();
  const torch::Tensor views = torch::randn({K * B, 3, 16, 16});

  // Reference: one graph, one backward, pairs matrix.
  backbone->zero_grad();
  head->zero_grad();
  const RelationPairs pairs = make_pairs(backbone->forward(views), K, Aggregation::kCat);
  const torch::Tensor loss = relation_loss(head->forward(pairs.inputs), pairs.targets);
  loss.backward();
  const auto expected = grads_of(*backbone, *head);

  for (const bool straightforward : {true, false}) {
    SCOPED_TRACE(straightforward ? "pairs matrix" : "projected views");
    Relational r(backbone, K, straightforward);
    load_state_dict(*r.method->head(), state_dict(*head), "head");
    TrainStep step(backbone, *r.method);
    StepTimes times;
    const StepOutput out = step.forward_backward({views, torch::arange(B)}, &times);
    head = r.method->head();
    EXPECT_NEAR(out.loss.item<double>(), loss.item<double>(), 1e-5);
    EXPECT_EQ(out.metrics.size(0), 3);  // accuracy of all, positive, negative pairs
    const auto got = grads_of(*backbone, *head);
    ASSERT_EQ(got.size(), expected.size());
    for (size_t i = 0; i < got.size(); ++i) {
      EXPECT_TRUE(torch::allclose(got[i], expected[i], 1e-4, 1e-6))
          << "parameter " << i << " max diff " << (got[i] - expected[i]).abs().max().item<float>();
    }
    EXPECT_GT(times.backbone_forward, 0);
    EXPECT_GT(times.head_backward, 0);
    EXPECT_GT(times.backbone_backward, 0);
    EXPECT_EQ(times.pairs > 0, straightforward);
  }
}

// bf16 autocast (train.precision = bf16), here on the CPU: the loss and the
// gradients stay fp32 and close to the fp32 step's; the weights are untouched.
TEST(StepTest, Bf16AutocastKeepsFp32WeightsAndGradientsCloseToFp32) {
  const int64_t K = 4, B = 6;
  torch::manual_seed(8);
  Backbone backbone = make_backbone("conv4");
  Relational r(backbone, K, false);
  RelationHead head = r.method->head();
  const torch::Tensor views = torch::randn({K * B, 3, 16, 16});
  TrainStep step(backbone, *r.method);
  const StepOutput fp32 = step.forward_backward({views, torch::arange(B)});
  const auto fp32_grads = grads_of(*backbone, *head);
  step.set_bf16(true);
  const StepOutput bf16 = step.forward_backward({views, torch::arange(B)});
  const auto bf16_grads = grads_of(*backbone, *head);
  EXPECT_EQ(bf16.loss.scalar_type(), torch::kFloat32);
  EXPECT_NEAR(bf16.loss.item<double>(), fp32.loss.item<double>(), 0.02);
  EXPECT_NE(bf16.loss.item<double>(), fp32.loss.item<double>()) << "autocast changed nothing";
  std::vector<torch::Tensor> a, b;
  for (size_t i = 0; i < fp32_grads.size(); ++i) {
    EXPECT_EQ(bf16_grads[i].scalar_type(), torch::kFloat32);
    a.push_back(fp32_grads[i].flatten());
    b.push_back(bf16_grads[i].flatten());
  }
  // The whole gradient points the same way; bf16's 8-bit mantissa only adds
  // noise (largest on the conv biases that BatchNorm cancels, whose fp32
  // gradient is ~0).
  const double cos = torch::cosine_similarity(torch::cat(a), torch::cat(b), 0).item<double>();
  EXPECT_GT(cos, 0.97);
  for (const auto& p : backbone->parameters()) EXPECT_EQ(p.scalar_type(), torch::kFloat32);
  // Autocast is off again after the step.
  EXPECT_EQ(torch::mm(torch::randn({2, 2}), torch::randn({2, 2})).scalar_type(), torch::kFloat32);
}

}  // namespace
}  // namespace relnet
