// Tests of the relation loss and pair accuracies on hand-made logits with
// worked answers (computed in float64 with PyTorch's
// binary_cross_entropy_with_logits and the focal formula of relation/loss.h).
#include "relnet/relation/loss.h"

#include <gtest/gtest.h>

#include "test_util.h"

namespace relnet {
namespace {

const torch::Tensor kLogits = torch::tensor({0.0, 2.0, -1.0, 3.0}, torch::kFloat64);
const torch::Tensor kTargets = torch::tensor({1.0, 1.0, 0.0, 0.0}, torch::kFloat64);

TEST(RelationLossTest, BceIsTheMeanOverPairs) {
  // mean(log 2, log(1 + e^-2), log(1 + e^-1), log(1 + e^3))
  EXPECT_NEAR(relation_loss(kLogits, kTargets).item<double>(), 1.0454810576737206, 1e-12);
}

TEST(RelationLossTest, FocalWeighsEachPairByItsDifficultyAndClass) {
  LossOptions focal{LossKind::kFocal, /*gamma=*/2.0, /*alpha=*/0.25};
  EXPECT_NEAR(relation_loss(kLogits, kTargets, focal).item<double>(), 0.533869115848526, 1e-12);
  // gamma 0 and alpha 0.5: half of BCE.
  focal = {LossKind::kFocal, 0.0, 0.5};
  EXPECT_NEAR(relation_loss(kLogits, kTargets, focal).item<double>(), 1.0454810576737206 / 2,
              1e-12);
}

TEST(RelationLossTest, ParsesItsNames) {
  EXPECT_EQ(parse_loss("bce"), LossKind::kBce);
  EXPECT_EQ(parse_loss("focal"), LossKind::kFocal);
  EXPECT_THROW(parse_loss("mse"), std::invalid_argument);
}

TEST(RelationLossTest, PairAccuraciesCountEachSide) {
  // Predictions round(sigmoid): 1, 1, 0, 1 against targets 1, 0, 0, 0.
  const torch::Tensor logits = torch::tensor({2.0f, 0.5f, -1.0f, 3.0f});
  const torch::Tensor targets = torch::tensor({1.0f, 0.0f, 0.0f, 0.0f});
  const torch::Tensor counts = pair_accuracy_counts(logits, targets);
  EXPECT_EQ(counts.scalar_type(), torch::kFloat64);
  EXPECT_TRUE(counts.equal(torch::tensor({2.0, 1.0, 1.0, 1.0, 3.0}, torch::kFloat64)));
  const torch::Tensor acc = pair_accuracies(logits, targets);
  EXPECT_DOUBLE_EQ(acc[0].item<double>(), 0.5);
  EXPECT_DOUBLE_EQ(acc[1].item<double>(), 1.0);
  EXPECT_DOUBLE_EQ(acc[2].item<double>(), 1.0 / 3.0);
  // No positives at all: that side reads 0, not NaN.
  const torch::Tensor none = pair_accuracies(logits.narrow(0, 1, 3), targets.narrow(0, 1, 3));
  EXPECT_DOUBLE_EQ(none[1].item<double>(), 0.0);
}

}  // namespace
}  // namespace relnet
