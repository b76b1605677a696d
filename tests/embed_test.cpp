// PCA to two dimensions and the `relnet embed` picture and points.
#include "relnet/eval/embed.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "relnet/train/trainer.h"
#include "relnet/util/plot.h"
#include "test_util.h"

#ifdef RELNET_WITH_IMAGE_IO
#include <opencv2/imgcodecs.hpp>
#endif

namespace relnet {
namespace {

using relnet::testing::TempDir;

// Points spread 3 along e2, 1 along -e4 and 0.1 elsewhere: PCA finds e2,
// then e4 (signed so its largest entry is positive), with the variance shares.
TEST(EmbedTest, PcaFindsTheDirectionsOfLargestVariance) {
  torch::manual_seed(5);
  const int64_t N = 4000;
  const auto a = torch::randn({N}, torch::kFloat64), b = torch::randn({N}, torch::kFloat64);
  auto x = 0.1 * torch::randn({N, 5}, torch::kFloat64) + 7.0;  // an offset PCA removes
  x.select(1, 2) += 3 * a;
  x.select(1, 4) -= b;
  const auto [points, ratio] = pca_2d(x);
  ASSERT_EQ(points.sizes(), (std::vector<int64_t>{N, 2}));
  // The first coordinate is the centred e2 coordinate, the second the e4 one.
  const auto xc = x - x.mean(0, true);
  EXPECT_GT(torch::cosine_similarity(points.select(1, 0), xc.select(1, 2), 0).item<double>(),
            0.999);
  EXPECT_GT(torch::cosine_similarity(points.select(1, 1), xc.select(1, 4), 0).item<double>(), 0.99);
  const double total = 9 + 1 + 5 * 0.01;
  EXPECT_NEAR(ratio[0].item<double>(), 9 / total, 0.03);
  EXPECT_NEAR(ratio[1].item<double>(), 1 / total, 0.01);
  // The same features give the same picture, whatever the eigen solver's signs.
  const auto again = pca_2d(x.clone()).first;
  EXPECT_TRUE(torch::allclose(points, again));
  EXPECT_EQ(relnet::testing::error_of([] {
              pca_2d(torch::ones({1, 4}));
            }),
            "pca_2d: need (N, D) features with N >= 2 and D >= 2, got [1, 4]");
}

#ifdef RELNET_WITH_IMAGE_IO
TEST(EmbedTest, WritesAPictureWithEveryClassAndThePoints) {
  TempDir dir("embed");
  std::filesystem::create_directories(dir / "data");
  relnet::testing::write_tiny_mnist(dir / "data", 64, 50, 16);
  Config c = relnet::testing::tiny_mnist_config(dir / "data", dir / "run");
  c.train.monitor_every = 0;
  train(c, false);

  EmbedOptions o;
  o.checkpoint = dir / "run/backbone.pt";
  o.device = "cpu";
  o.threads = 1;
  o.json_out = dir / "points.json";
  const EmbedResult r = embed(o);
  EXPECT_EQ(r.png_path, dir / "run/embed.png");
  const cv::Mat png = cv::imread(r.png_path, cv::IMREAD_COLOR);
  ASSERT_FALSE(png.empty());
  EXPECT_EQ(png.cols, 900);
  // Not blank: the ten classes' colours are on it.
  for (size_t c = 0; c < 10; ++c) {
    const cv::Scalar want = class_color(c, 10);
    cv::Mat mask;
    cv::inRange(png, want - cv::Scalar(2, 2, 2), want + cv::Scalar(2, 2, 2), mask);
    EXPECT_GT(cv::countNonZero(mask), 20) << "class " << c;
  }
  std::ifstream in(o.json_out);
  const auto j = nlohmann::json::parse(in);
  EXPECT_EQ(j["method"], "pca");
  EXPECT_EQ(j["x"].size(), 50u);
  EXPECT_EQ(j["y"].size(), 50u);
  EXPECT_EQ(j["labels"][3], 3);
  EXPECT_EQ(j["class_names"].size(), 10u);
}
#endif

}  // namespace
}  // namespace relnet
