// Retrieval metrics on hand-made features with answers worked out by hand.
#include "relnet/eval/retrieval.h"

#include <gtest/gtest.h>

#include <cmath>

#include "relnet/util/plot.h"
#include "test_util.h"

namespace relnet {
namespace {

using relnet::testing::error_of;

// Gallery of 4 unit vectors at angles 0, 30, 60, 90 degrees with labels
// A B A B; queries at 0 and 90 degrees.
struct Fixture {
  torch::Tensor gallery, gallery_labels, queries, query_labels;
  Fixture() {
    std::vector<float> g;
    for (const double deg : {0.0, 30.0, 60.0, 90.0}) {
      g.push_back(static_cast<float>(std::cos(deg * M_PI / 180)));
      g.push_back(static_cast<float>(std::sin(deg * M_PI / 180)));
    }
    gallery = torch::tensor(g).view({4, 2});
    gallery_labels = torch::tensor({0, 1, 0, 1}, torch::kInt64);
    queries = torch::tensor({{2.f, 0.f}, {0.f, 0.5f}});  // scale must not matter
    query_labels = torch::tensor({0, 0}, torch::kInt64);
  }
};

TEST(RetrievalTest, PrecisionAndMapMatchTheHandComputedRanking) {
  const Fixture f;
  // Query 1 (0 deg, label A) ranks 0, 30, 60, 90: relevant at ranks 1 and 3.
  //   P@1 = 1, P@2 = 1/2, AP = (1/1 + 2/3) / 2 = 5/6.
  // Query 2 (90 deg, label A) ranks 90, 60, 30, 0: relevant at ranks 2 and 4.
  //   P@1 = 0, P@2 = 1/2, AP = (1/2 + 2/4) / 2 = 1/2.
  const RetrievalMetrics m =
      retrieval_metrics(f.gallery, f.gallery_labels, f.queries, f.query_labels, {1, 2, 4});
  ASSERT_EQ(m.precision_at_k.size(), 3u);
  EXPECT_NEAR(m.precision_at_k[0], 0.5, 1e-9);
  EXPECT_NEAR(m.precision_at_k[1], 0.5, 1e-9);
  EXPECT_NEAR(m.precision_at_k[2], 0.5, 1e-9);
  EXPECT_NEAR(m.mean_average_precision, (5.0 / 6 + 0.5) / 2, 1e-6);
  EXPECT_TRUE(m.top.equal(torch::tensor({{0, 1, 2, 3}, {3, 2, 1, 0}}, torch::kInt64))) << m.top;
  // Chunked processing gives the same numbers.
  const RetrievalMetrics c = retrieval_metrics(f.gallery, f.gallery_labels, f.queries,
                                               f.query_labels, {1, 2, 4}, torch::kCPU, 1);
  EXPECT_NEAR(c.mean_average_precision, m.mean_average_precision, 1e-9);
  EXPECT_TRUE(c.top.equal(m.top));
}

TEST(RetrievalTest, AQueryWithoutRelevantImagesScoresZeroAndTiesKeepGalleryOrder) {
  const auto gallery = torch::tensor({{1.f, 0.f}, {1.f, 0.f}, {0.f, 1.f}});
  const auto labels = torch::tensor({1, 2, 1}, torch::kInt64);
  const RetrievalMetrics m =
      retrieval_metrics(gallery, labels, torch::tensor({{1.f, 0.f}, {1.f, 0.f}}),
                        torch::tensor({7, 2}, torch::kInt64), {1});
  // Query 1 has no relevant image: P@1 0, AP 0. Query 2: the tie between rows
  // 0 and 1 ranks row 0 first, so its only relevant image (row 1) is at rank 2.
  EXPECT_NEAR(m.precision_at_k[0], 0.0, 1e-9);
  EXPECT_NEAR(m.mean_average_precision, (0.0 + 0.5) / 2, 1e-6);
  EXPECT_EQ(m.top[1][0].item<int64_t>(), 0);
}

TEST(RetrievalTest, RejectsBadK) {
  const Fixture f;
  EXPECT_EQ(error_of([&] {
              retrieval_metrics(f.gallery, f.gallery_labels, f.queries, f.query_labels, {5});
            }),
            "retrieval: k must be in [1, 4] (the gallery size), got 5");
  EXPECT_EQ(error_of([&] {
              retrieval_metrics(f.gallery, f.gallery_labels, f.queries, f.query_labels, {});
            }),
            "retrieval: no k given");
}

#ifdef RELNET_WITH_IMAGE_IO
TEST(RetrievalTest, GridFramesSameClassNeighboursGreenAndOthersRed) {
  // 2 queries, 3 gallery images; query 0 (label 0) ranks gallery 2 (label 0)
  // then gallery 1 (label 1).
  const auto qi = torch::full({2, 3, 8, 8}, 100, torch::kUInt8);
  const auto gi = torch::full({3, 3, 8, 8}, 200, torch::kUInt8);
  const auto ql = torch::tensor({0, 1}, torch::kInt64);
  const auto gl = torch::tensor({1, 1, 0}, torch::kInt64);
  const auto top = torch::tensor({2, 1, 0, 1}, torch::kInt64).view({2, 2});
  const cv::Mat grid = retrieval_grid(qi, ql, gi, gl, top, 2, 2, {"zero", "one"});
  const int cell = tile_cell(8, 64);  // 64, framed by 3 pixels: 70
  const int tile = cell + 6;
  // Column x of row r starts at label_w + gap + x * (tile + gap); measure
  // from the right edge, where the last column ends at cols - gap.
  auto frame_at = [&](int row, int col) {
    const int x = grid.cols - 4 - (3 - col) * (tile + 4) + 4;
    const int header = grid.rows - 4 - 2 * (tile + 4);
    const int y = header + 4 + row * (tile + 4);
    return grid.at<cv::Vec3b>(y + 1, x + 1);
  };
  EXPECT_EQ(frame_at(0, 1), cv::Vec3b(80, 170, 40));  // same class: green
  EXPECT_EQ(frame_at(0, 2), cv::Vec3b(40, 40, 220));  // other class: red
  EXPECT_EQ(frame_at(1, 1), cv::Vec3b(80, 170, 40));  // query 1 (label 1) -> gallery 0 (label 1)
  EXPECT_THROW(retrieval_grid(qi, ql, gi, gl, top, 2, 3, {}), std::invalid_argument);
}
#endif

}  // namespace
}  // namespace relnet
