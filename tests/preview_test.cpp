#include "relnet/augment/preview.h"

#ifdef RELNET_WITH_IMAGE_IO

#include <gtest/gtest.h>

#include "relnet/util/plot.h"

namespace relnet {
namespace {

ImageDataset striped(int64_t n, int64_t side) {
  ImageDataset d;
  d.name = "striped";
  d.images = torch::zeros({n, 3, side, side}, torch::kUInt8);
  for (int64_t i = 0; i < n; ++i) {
    d.images[i].select(0, i % 3).slice(0, 0, side / 2).fill_(250);  // a coloured upper half
  }
  d.labels = torch::arange(n, torch::kInt64) % 2;
  d.num_classes = 2;
  d.class_names = {"even", "odd"};
  return d;
}

TEST(PreviewTest, OneRowPerImageOneColumnPerViewPlusTheOriginal) {
  const ImageDataset d = striped(3, 32);
  Normalization norm;
  const ViewAugmenter aug(AugmentConfig{}, norm, 32);
  const cv::Mat grid = augmentation_preview(d, aug, norm, 3, 4, 7);
  const int cell = tile_cell(32);  // 96
  ASSERT_EQ(cell, 96);
  // tile_grid: label column + gap + 5 columns of (cell + gap); header + gap + 3 rows.
  EXPECT_GT(grid.cols, 4 + 5 * (cell + 4));
  EXPECT_LT(grid.cols, 4 + 5 * (cell + 4) + 80);
  EXPECT_GT(grid.rows, 4 + 3 * (cell + 4));
  EXPECT_LT(grid.rows, 4 + 3 * (cell + 4) + 40);
  cv::Scalar mean, stddev;
  cv::meanStdDev(grid, mean, stddev);
  EXPECT_GT(stddev[0] + stddev[1] + stddev[2], 20.0);
  // Same seed, same picture; another seed, other views.
  EXPECT_EQ(cv::norm(grid, augmentation_preview(d, aug, norm, 3, 4, 7), cv::NORM_INF), 0.0);
  EXPECT_GT(cv::norm(grid, augmentation_preview(d, aug, norm, 3, 4, 8), cv::NORM_INF), 0.0);
}

TEST(PreviewTest, OriginalColumnShowsTheImageUnchanged) {
  const ImageDataset d = striped(1, 32);
  Normalization norm;
  const ViewAugmenter aug(AugmentConfig{}, norm, 32);
  const cv::Mat grid = augmentation_preview(d, aug, norm, 1, 2, 1);
  const cv::Mat original = image_tile(d.images[0].data_ptr<uint8_t>(), 3, 32, 32, 96);
  // The original tile sits right above the bottom margin, after the label column.
  const int x0 = grid.cols - 4 - 3 * (96 + 4) + 4;
  const cv::Mat placed = grid(cv::Rect(x0, grid.rows - 4 - 96, 96, 96));
  EXPECT_EQ(cv::norm(placed, original, cv::NORM_INF), 0.0);
}

TEST(PreviewTest, RejectsMoreImagesThanTheDatasetHas) {
  const ImageDataset d = striped(2, 16);
  Normalization norm;
  const ViewAugmenter aug(AugmentConfig{}, norm, 16);
  EXPECT_THROW(augmentation_preview(d, aug, norm, 3, 2, 1), std::invalid_argument);
  EXPECT_THROW(augmentation_preview(d, aug, norm, 1, 0, 1), std::invalid_argument);
}

}  // namespace
}  // namespace relnet

#else  // built without image I/O
#include <gtest/gtest.h>
TEST(PreviewTest, NeedsImageIo) {
  GTEST_SKIP() << "built without image I/O (RELNET_WITH_IMAGE_IO=OFF)";
}
#endif
