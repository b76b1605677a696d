// The shared training step: the two-stage backward equals loss.backward(),
// and the projected head path equals the paper's pairs matrix.
#include "relnet/train/step.h"

#include <gtest/gtest.h>

namespace relnet {
namespace {

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
  RelationHead head(aggregated_size(Aggregation::kCat, backbone->feature_size()));
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
    RelationStep step(backbone, head, K, Aggregation::kCat, LossOptions{}, straightforward);
    StepTimes times;
    const StepOutput out = step.forward_backward(views, &times);
    EXPECT_NEAR(out.loss.item<double>(), loss.item<double>(), 1e-5);
    EXPECT_EQ(out.logits.size(0), K * (K - 1) * B);
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

}  // namespace
}  // namespace relnet
