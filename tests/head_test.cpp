#include "relnet/relation/head.h"

#include <gtest/gtest.h>

#include "relnet/models/backbone.h"
#include "relnet/relation/loss.h"
#include "relnet/train/checkpoint.h"

namespace relnet {
namespace {

TEST(RelationHeadTest, HasTheReferenceSizeAndKeys) {
  RelationHead head(128, 256);
  EXPECT_EQ(count_parameters(*head), 33793);
  std::vector<std::string> keys;
  for (const auto& [k, v] : state_dict(*head)) keys.push_back(k);
  const std::vector<std::string> expected = {"0.weight",
                                             "0.bias",
                                             "1.weight",
                                             "1.bias",
                                             "1.running_mean",
                                             "1.running_var",
                                             "1.num_batches_tracked",
                                             "3.weight",
                                             "3.bias"};
  EXPECT_EQ(keys, expected);
  EXPECT_EQ(head->forward(torch::randn({10, 128})).sizes(), (std::vector<int64_t>{10}));
}

TEST(RelationHeadTest, LearnsToSeparateTwoFeatureClouds) {
  torch::manual_seed(3);
  RelationHead head(8, 16);
  torch::optim::Adam opt(head->parameters(), torch::optim::AdamOptions(1e-2));
  const int64_t n = 256;
  const auto targets = torch::cat({torch::ones({n / 2}), torch::zeros({n / 2})});
  double loss_value = 1e9;
  int step = 0;
  for (; step < 300 && loss_value > 0.05; ++step) {
    const auto x =
        torch::cat({torch::randn({n / 2, 8}) * 0.5 + 1.0, torch::randn({n / 2, 8}) * 0.5 - 1.0});
    const auto loss = relation_loss(head->forward(x), targets);
    opt.zero_grad();
    loss.backward();
    opt.step();
    loss_value = loss.item<double>();
  }
  EXPECT_LT(loss_value, 0.05) << "after " << step << " steps";
  head->eval();
  const auto x =
      torch::cat({torch::randn({n / 2, 8}) * 0.5 + 1.0, torch::randn({n / 2, 8}) * 0.5 - 1.0});
  EXPECT_GT(pair_accuracies(head->forward(x), targets)[0].item<double>(), 0.98);
}

TEST(RelationLossTest, BceMatchesTheClosedForm) {
  const auto logits = torch::tensor({2.0f, -1.0f, 0.5f, 0.0f});
  const auto targets = torch::tensor({1.0f, 0.0f, 0.0f, 1.0f});
  const auto p = torch::sigmoid(logits);
  const auto expected = -(targets * torch::log(p) + (1 - targets) * torch::log(1 - p)).mean();
  EXPECT_NEAR(relation_loss(logits, targets).item<double>(), expected.item<double>(), 1e-6);
}

TEST(RelationLossTest, FocalMatchesTheClosedFormAndDownweightsEasyPairs) {
  const auto logits = torch::tensor({4.0f, -1.0f, 0.5f, 0.0f});
  const auto t = torch::tensor({1.0f, 0.0f, 0.0f, 1.0f});
  const auto p = torch::sigmoid(logits);
  const auto bce = -(t * torch::log(p) + (1 - t) * torch::log(1 - p));
  const auto p_t = t * p + (1 - t) * (1 - p);
  const double gamma = 2.0, alpha = 0.25;
  const auto alpha_t = t * alpha + (1 - t) * (1 - alpha);
  const auto expected = ((1 - p_t).pow(gamma) * alpha_t * bce).mean();
  const LossOptions focal{LossKind::kFocal, gamma, alpha};
  EXPECT_NEAR(relation_loss(logits, t, focal).item<double>(), expected.item<double>(), 1e-6);
  // gamma = 0, alpha = 0.5 is half the BCE.
  EXPECT_NEAR(relation_loss(logits, t, {LossKind::kFocal, 0.0, 0.5}).item<double>(),
              0.5 * relation_loss(logits, t).item<double>(), 1e-6);
  EXPECT_THROW(parse_loss("hinge"), std::invalid_argument);
}

// The projected path (no pairs matrix) against the straightforward one:
// same logits, same loss, same gradients w.r.t. features and every weight.
TEST(RelationHeadTest, ViewProjectionEqualsThePairsMatrixForEveryAggregation) {
  for (const auto agg :
       {Aggregation::kCat, Aggregation::kSum, Aggregation::kMean, Aggregation::kMax}) {
    SCOPED_TRACE(to_string(agg));
    const int64_t K = 5, B = 6, D = 12;
    torch::manual_seed(11);
    RelationHead head(aggregated_size(agg, D), 32);
    const torch::Tensor base = torch::randn({K * B, D});

    const auto run = [&](bool projected) {
      head->zero_grad();
      torch::Tensor f = base.clone().requires_grad_(true);
      const RelationPairs pairs = make_pairs(f, K, agg);
      const torch::Tensor logits =
          projected ? head->forward_views(f, K, agg) : head->forward(pairs.inputs);
      const torch::Tensor loss = relation_loss(logits, pairs.targets);
      loss.backward();
      std::vector<torch::Tensor> grads = {logits.detach(), loss.detach(), f.grad().clone()};
      for (const auto& p : head->parameters()) grads.push_back(p.grad().clone());
      return grads;
    };
    const auto straight = run(false);
    const auto fast = run(true);
    ASSERT_EQ(straight.size(), fast.size());
    for (size_t i = 0; i < straight.size(); ++i) {
      EXPECT_TRUE(torch::allclose(straight[i], fast[i], 1e-4, 1e-5))
          << "tensor " << i << " max diff " << (straight[i] - fast[i]).abs().max().item<float>();
    }
  }
}

TEST(RelationLossTest, AccuracySplitsPositivesAndNegatives) {
  // logit > 0 predicts 1; sigmoid(0) = 0.5 rounds to 0 as torch.round does.
  const auto logits = torch::tensor({3.f, -2.f, 0.f, 1.f, -1.f});
  const auto targets = torch::tensor({1.f, 1.f, 1.f, 0.f, 0.f});
  // On the logits' device, read by the trainer when it logs (a CUDA run
  // keeps them there until its log step).
  const auto a = pair_accuracies(logits, targets);
  EXPECT_EQ(a.scalar_type(), torch::kFloat64);
  EXPECT_DOUBLE_EQ(a[0].item<double>(), 2.0 / 5.0);
  EXPECT_DOUBLE_EQ(a[1].item<double>(), 1.0 / 3.0);
  EXPECT_DOUBLE_EQ(a[2].item<double>(), 1.0 / 2.0);
  const auto counts = pair_accuracy_counts(logits, targets);
  EXPECT_EQ(counts.scalar_type(), torch::kFloat64);
  EXPECT_TRUE(torch::equal(counts, torch::tensor({2.0, 1.0, 3.0, 1.0, 2.0}, torch::kFloat64)));
  // NaN-free when a side has no pairs.
  const auto only_positive = pair_accuracies(torch::tensor({1.f}), torch::tensor({1.f}));
  EXPECT_DOUBLE_EQ(only_positive[2].item<double>(), 0.0);
}

}  // namespace
}  // namespace relnet
