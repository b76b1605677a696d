// Weighted kNN on hand-made features whose answers are known.
#include "relnet/eval/knn.h"

#include <gtest/gtest.h>

#include "test_util.h"

namespace relnet {
namespace {

using relnet::testing::error_of;

TEST(KnnTest, NearestNeighboursVoteByCosineSimilarity) {
  // Train points along three directions; scale must not matter (cosine).
  const auto train =
      torch::tensor({{1.f, 0.f}, {10.f, 1.f}, {0.f, 1.f}, {1.f, 9.f}, {-1.f, 0.f}, {-5.f, -1.f}});
  const auto labels = torch::tensor({0, 0, 1, 1, 2, 2}, torch::kInt64);
  const auto queries = torch::tensor({{100.f, 3.f}, {0.1f, 2.f}, {-0.3f, 0.01f}});
  const auto pred = knn_predict(train, labels, queries, 3, 2, 0.1);
  EXPECT_TRUE(pred.equal(torch::tensor({0, 1, 2}, torch::kInt64))) << pred;
  // Chunking the queries changes nothing.
  EXPECT_TRUE(pred.equal(knn_predict(train, labels, queries, 3, 2, 0.1, torch::kCPU, 1)));
}

TEST(KnnTest, WeightsLetOneCloseNeighbourOutvoteTwoFarOnes) {
  // Query (1, 0): one class-0 neighbour at similarity 1, two class-1 ones at
  // cos(60 deg) = 0.5. A low temperature trusts the close one (e^10 > 2 e^5),
  // a high temperature counts heads (1.1 < 2 x 1.05).
  const auto train = torch::tensor({{1.f, 0.f}, {0.5f, 0.8660254f}, {0.5f, -0.8660254f}});
  const auto labels = torch::tensor({0, 1, 1}, torch::kInt64);
  const auto query = torch::tensor({{1.f, 0.f}});
  EXPECT_EQ(knn_predict(train, labels, query, 2, 3, 0.1).item<int64_t>(), 0);
  EXPECT_EQ(knn_predict(train, labels, query, 2, 3, 10.0).item<int64_t>(), 1);
  // k larger than the train set is clamped, k = 1 is plain nearest neighbour.
  EXPECT_EQ(knn_predict(train, labels, query, 2, 50, 10.0).item<int64_t>(), 1);
  EXPECT_EQ(knn_predict(train, labels, query, 2, 1, 10.0).item<int64_t>(), 0);
}

TEST(KnnTest, ClustersAreClassifiedAlmostPerfectly) {
  torch::manual_seed(3);
  const int64_t classes = 5, n = 500;
  const auto centres = torch::randn({classes, 32});
  const auto train_labels = torch::arange(n, torch::kInt64) % classes;
  const auto test_labels = torch::arange(100, torch::kInt64) % classes;
  const auto train = centres.index_select(0, train_labels) + 0.3 * torch::randn({n, 32});
  const auto test = centres.index_select(0, test_labels) + 0.3 * torch::randn({100, 32});
  const auto pred = knn_predict(train, train_labels, test, classes, 20, 0.1);
  EXPECT_GE(pred.eq(test_labels).to(torch::kFloat).mean().item<float>(), 0.98);
}

TEST(KnnTest, RejectsBadArguments) {
  const auto f = torch::randn({4, 3});
  const auto l = torch::zeros({4}, torch::kInt64);
  EXPECT_EQ(error_of([&] { knn_predict(f, l, f, 2, 0, 0.1); }), "knn: k must be >= 1, got 0");
  EXPECT_EQ(error_of([&] { knn_predict(f, l, f, 2, 3, 0.0); }),
            "knn: temperature must be > 0, got 0.000000");
  EXPECT_EQ(error_of([&] {
              knn_predict(f, l, torch::randn({2, 5}), 2, 3, 0.1);
            }),
            "knn: train and query features must be (N, D) and (Q, D), got [4, 3] and [2, 5]");
  EXPECT_EQ(error_of([&] { knn_predict(f, torch::zeros({3}, torch::kInt64), f, 2, 3, 0.1); }),
            "knn: need one label per train row (and at least one row), got [3] labels for 4 rows");
}

}  // namespace
}  // namespace relnet
