#include "relnet/util/plot.h"

#ifdef RELNET_WITH_IMAGE_IO

#include <gtest/gtest.h>

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <set>

#include "test_util.h"

namespace relnet {
namespace {

// Distinct colours in an image: a blank or one-colour canvas has 1.
size_t distinct_colors(const cv::Mat& img) {
  std::set<uint32_t> colors;
  for (int y = 0; y < img.rows; y += 2) {
    for (int x = 0; x < img.cols; x += 2) {
      const auto p = img.at<cv::Vec3b>(y, x);
      colors.insert((uint32_t{p[0]} << 16) | (uint32_t{p[1]} << 8) | p[2]);
    }
  }
  return colors.size();
}

bool has_color_near(const cv::Mat& img, const cv::Scalar& c, int tol = 10) {
  for (int y = 0; y < img.rows; ++y) {
    for (int x = 0; x < img.cols; ++x) {
      const auto p = img.at<cv::Vec3b>(y, x);
      if (std::abs(p[0] - c[0]) <= tol && std::abs(p[1] - c[1]) <= tol &&
          std::abs(p[2] - c[2]) <= tol) {
        return true;
      }
    }
  }
  return false;
}

TEST(PlotTest, NiceTicksCoverTheRangeWithRoundSteps) {
  EXPECT_EQ(nice_ticks(0, 10, 6), (std::vector<double>{0, 2, 4, 6, 8, 10}));
  const auto t = nice_ticks(0.31, 0.87, 6);
  ASSERT_GE(t.size(), 3u);
  EXPECT_NEAR(t[1] - t[0], 0.2, 1e-12);  // range 0.56 in at most 5 steps
  EXPECT_GE(t.front(), 0.31 - 1e-12);
  EXPECT_LE(t.back(), 0.87 + 1e-12);
  EXPECT_EQ(nice_ticks(3, 3, 5).size(), 1u);
}

TEST(PlotTest, PanelsHaveTheirSizeAndDrawTheSeriesColours) {
  Panel p{"loss", "epoch", "loss", {}, std::nullopt};
  p.series.push_back(
      {"a", {0, 1, 2, 3}, {1.0, 0.7, 0.5, 0.45}, palette(0), LineStyle::kSolid, 2, true, true});
  p.series.push_back(
      {"b", {0, 1, 2, 3}, {0.9, 0.8, 0.6, 0.4}, palette(1), LineStyle::kDashed, 2, false, true});
  Panel q{"single point", "epoch", "", {}, std::make_pair(0.0, 1.0)};
  q.series.push_back({"only", {1}, {0.5}, palette(2), LineStyle::kDotted, 2, false, true});
  const cv::Mat img = draw_panels({p, q}, 400, 300);
  EXPECT_EQ(img.cols, 800);
  EXPECT_EQ(img.rows, 300);
  EXPECT_EQ(img.type(), CV_8UC3);
  EXPECT_GT(distinct_colors(img), 20u);
  for (size_t i = 0; i < 3; ++i) EXPECT_TRUE(has_color_near(img, palette(i))) << i;
  EXPECT_THROW(draw_panels({}, 400, 300), std::invalid_argument);
}

TEST(PlotTest, TilesAndGridsHaveTheExpectedGeometry) {
  std::vector<uint8_t> chw(3 * 4 * 5, 0);
  for (size_t i = 0; i < 20; ++i) chw[i] = 255;  // red plane
  const cv::Mat tile = image_tile(chw.data(), 3, 4, 5, 20);
  EXPECT_EQ(tile.size(), cv::Size(20, 20));
  EXPECT_EQ(tile.at<cv::Vec3b>(10, 10), cv::Vec3b(0, 0, 255));  // BGR
  const cv::Mat framed = with_border(tile, 3, cv::Scalar(0, 255, 0));
  EXPECT_EQ(framed.size(), cv::Size(26, 26));
  EXPECT_EQ(framed.at<cv::Vec3b>(0, 0), cv::Vec3b(0, 255, 0));
  EXPECT_EQ(tile_cell(28), 84);
  EXPECT_EQ(tile_cell(96), 96);
  const cv::Mat grid = tile_grid({tile, tile, tile, tile, tile}, 3, 4);
  EXPECT_EQ(grid.cols, 4 + 3 * 24);
  EXPECT_EQ(grid.rows, 4 + 2 * 24);
  EXPECT_THROW(tile_grid({tile, framed}, 2, 4), std::invalid_argument);
}

TEST(PlotTest, WritePngDecodesToTheSameImage) {
  relnet::testing::TempDir dir("plot");
  cv::Mat img(30, 40, CV_8UC3, cv::Scalar(10, 20, 30));
  cv::circle(img, {20, 15}, 8, cv::Scalar(200, 100, 0), cv::FILLED);
  write_png(dir / "x.png", img);
  const cv::Mat back = cv::imread(dir / "x.png", cv::IMREAD_COLOR);
  ASSERT_FALSE(back.empty());
  EXPECT_EQ(cv::norm(img, back, cv::NORM_INF), 0.0);
  EXPECT_THROW(write_png(dir / "no/such/folder/x.png", img), std::runtime_error);
}

}  // namespace
}  // namespace relnet

#else  // built without image I/O
#include <gtest/gtest.h>
TEST(PlotTest, NeedsImageIo) {
  GTEST_SKIP() << "built without image I/O (RELNET_WITH_IMAGE_IO=OFF)";
}
#endif
