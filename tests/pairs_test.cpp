#include "relnet/relation/pairs.h"

#include <gtest/gtest.h>

namespace relnet {
namespace {

TEST(PairsTest, MatchesTheHandComputedReferenceOrderForK3B4) {
  const int64_t K = 3, B = 4;
  // One feature per row: value 10*v + b, D = 1.
  auto f = torch::empty({K * B, 1});
  for (int64_t v = 0; v < K; ++v)
    for (int64_t b = 0; b < B; ++b) f[v * B + b][0] = static_cast<float>(10 * v + b);
  const RelationPairs p = make_pairs(f, K, Aggregation::kCat);
  ASSERT_EQ(p.inputs.sizes(), (std::vector<int64_t>{K * (K - 1) * B, 2}));
  ASSERT_EQ(p.targets.sizes(), (std::vector<int64_t>{K * (K - 1) * B}));

  // Blocks pos(0,1) neg(0,1) pos(0,2) neg(0,2) pos(1,2) neg(1,2); shifts 1, 2, 3.
  // roll(F_j, s)[r] = F_j[(r - s) mod B].
  const std::vector<std::vector<float>> expected = {
      {0, 10},  {1, 11},  {2, 12},  {3, 13},   // pos(0,1)
      {0, 13},  {1, 10},  {2, 11},  {3, 12},   // neg(0,1), s=1
      {0, 20},  {1, 21},  {2, 22},  {3, 23},   // pos(0,2)
      {0, 22},  {1, 23},  {2, 20},  {3, 21},   // neg(0,2), s=2
      {10, 20}, {11, 21}, {12, 22}, {13, 23},  // pos(1,2)
      {10, 21}, {11, 22}, {12, 23}, {13, 20},  // neg(1,2), s=3
  };
  for (size_t r = 0; r < expected.size(); ++r) {
    EXPECT_EQ(p.inputs[r][0].item<float>(), expected[r][0]) << "row " << r;
    EXPECT_EQ(p.inputs[r][1].item<float>(), expected[r][1]) << "row " << r;
    EXPECT_EQ(p.targets[r].item<float>(), (r / B) % 2 == 0 ? 1.f : 0.f) << "row " << r;
  }
  EXPECT_EQ(p.targets.sum().item<float>(), K * (K - 1) * B / 2);
}

TEST(PairsTest, ShiftWrapsToOneAndNeverPairsAnImageWithItself) {
  const int64_t K = 6, B = 3;  // 15 view pairs, shifts 1,2,1,2,...
  const PairIndex idx = make_pair_index(K, B);
  ASSERT_EQ(idx.left.numel(), K * (K - 1) * B);
  const auto l = idx.left.accessor<int64_t, 1>();
  const auto r = idx.right.accessor<int64_t, 1>();
  const auto t = idx.targets.accessor<float, 1>();
  int64_t block = 0;
  for (int64_t i = 0; i < idx.left.numel(); i += B, ++block) {
    for (int64_t k = 0; k < B; ++k) {
      const bool same_image = l[i + k] % B == r[i + k] % B;
      EXPECT_EQ(same_image, t[i + k] == 1.f) << "pair " << i + k;
    }
    if (block % 2 == 1) {
      const int64_t pair_number = block / 2;
      const int64_t shift = pair_number % (B - 1) + 1;
      EXPECT_EQ(r[i] % B, (B - shift) % B) << "block " << block;
    }
  }
}

TEST(PairsTest, ElementwiseAggregations) {
  const auto a = torch::tensor({{1.f, 5.f}});
  const auto b = torch::tensor({{3.f, 2.f}});
  EXPECT_TRUE(torch::equal(aggregate(a, b, Aggregation::kSum), torch::tensor({{4.f, 7.f}})));
  EXPECT_TRUE(torch::equal(aggregate(a, b, Aggregation::kMean), torch::tensor({{2.f, 3.5f}})));
  EXPECT_TRUE(torch::equal(aggregate(a, b, Aggregation::kMax), torch::tensor({{3.f, 5.f}})));
  EXPECT_TRUE(
      torch::equal(aggregate(a, b, Aggregation::kCat), torch::tensor({{1.f, 5.f, 3.f, 2.f}})));
  EXPECT_EQ(aggregated_size(Aggregation::kCat, 64), 128);
  EXPECT_EQ(aggregated_size(Aggregation::kMax, 64), 64);
  EXPECT_THROW(parse_aggregation("concat"), std::invalid_argument);
}

TEST(PairsTest, RejectsTooFewViewsOrImages) {
  EXPECT_THROW(make_pair_index(1, 4), std::invalid_argument);
  EXPECT_THROW(make_pair_index(4, 1), std::invalid_argument);
  EXPECT_THROW(make_pairs(torch::zeros({7, 3}), 2, Aggregation::kCat), std::invalid_argument);
}

}  // namespace
}  // namespace relnet
