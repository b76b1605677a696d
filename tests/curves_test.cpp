#include "relnet/train/curves.h"

#include <gtest/gtest.h>

#ifdef RELNET_WITH_IMAGE_IO
#include <opencv2/imgcodecs.hpp>
#endif

#include <cmath>
#include <fstream>

#include "test_util.h"

namespace relnet {
namespace {

void write_metrics(const std::string& path, const std::string& text) {
  std::ofstream(path) << text;
}

TEST(CurvesTest, ReadsStepAndEpochRecordsKeepingTheLatest) {
  relnet::testing::TempDir dir("curves");
  write_metrics(
      dir / "metrics.jsonl",
      R"({"kind":"step","epoch":1,"step":5,"epoch_progress":0.5,"loss":0.69,"accuracy":0.5,"accuracy_positive":0.4,"accuracy_negative":0.6}
{"kind":"step","epoch":1,"step":10,"epoch_progress":1.0,"loss":0.6,"accuracy":0.6,"accuracy_positive":0.5,"accuracy_negative":0.7}
{"kind":"epoch","epoch":1,"loss":0.65,"accuracy":0.55,"accuracy_positive":0.45,"accuracy_negative":0.65}
{"kind":"step","epoch":1,"step":10,"epoch_progress":1.0,"loss":0.58,"accuracy":0.62,"accuracy_positive":0.5,"accuracy_negative":0.7}
{"kind":"step","epoch":2,"step":5,"loss":0.5}
)");
  const RunCurves r = read_run_curves(dir.str());
  ASSERT_EQ(r.steps.x, (std::vector<double>{0.5, 1.0}));
  EXPECT_DOUBLE_EQ(r.steps.loss[1], 0.58);  // the resumed run's record wins
  ASSERT_EQ(r.epochs.x, (std::vector<double>{1.0}));
  EXPECT_DOUBLE_EQ(r.epochs.metrics.at("accuracy_negative")[0], 0.65);
  EXPECT_EQ(r.epochs.metrics.count("epoch"), 0u);  // only accuracy* and loss_* are curves
  EXPECT_EQ(r.name, std::filesystem::path(dir.str()).filename().string());
}

TEST(CurvesTest, MissingOrEmptyMetricsNameTheFile) {
  relnet::testing::TempDir dir("curves");
  EXPECT_NE(relnet::testing::error_of([&] { read_run_curves(dir.str()); }).find("metrics.jsonl"),
            std::string::npos);
  write_metrics(dir / "metrics.jsonl", "");
  EXPECT_NE(relnet::testing::error_of([&] { read_run_curves(dir.str()); }).find("no step or epoch"),
            std::string::npos);
}

#ifdef RELNET_WITH_IMAGE_IO
TEST(CurvesTest, PngOfSeveralRunsDecodesAndIsNotBlank) {
  relnet::testing::TempDir dir("curves");
  std::vector<RunCurves> runs(2);
  for (int r = 0; r < 2; ++r) {
    runs[r].name = "run" + std::to_string(r);
    for (int e = 1; e <= 4; ++e) {
      runs[r].epochs.x.push_back(e);
      runs[r].epochs.loss.push_back(0.7 - 0.1 * e + 0.02 * r);
      runs[r].epochs.metrics["accuracy"].push_back(0.5 + 0.1 * e);
      runs[r].epochs.metrics["accuracy_positive"].push_back(0.55 + 0.1 * e);
      runs[r].epochs.metrics["accuracy_negative"].push_back(0.45 + 0.1 * e);
    }
  }
  write_curves_png(dir / "c.png", runs);
  const cv::Mat img = cv::imread(dir / "c.png", cv::IMREAD_COLOR);
  ASSERT_FALSE(img.empty());
  EXPECT_EQ(img.cols, 1400);
  EXPECT_EQ(img.rows, 520);
  cv::Scalar mean, stddev;
  cv::meanStdDev(img, mean, stddev);
  EXPECT_GT(stddev[0] + stddev[1] + stddev[2], 10.0);  // not a blank canvas
}

TEST(CurvesTest, MonitorsGetTheAccuracyPanelAndACollapsePanel) {
  relnet::testing::TempDir dir("curves");
  // Steps without monitors; the monitors in the epoch records, every 2 epochs.
  std::string text;
  for (int e = 1; e <= 4; ++e) {
    text += R"({"kind":"step","epoch_progress":)" + std::to_string(e - 0.5) +
            R"(,"loss":0.6,"accuracy":0.7})" + "\n";
    text += R"({"kind":"epoch","epoch":)" + std::to_string(e) + R"(,"loss":0.6,"accuracy":0.7)";
    if (e % 2 == 0) {
      text += R"(,"knn_top1":0.)" + std::to_string(5 + e) +
              R"(,"knn_top5":0.95,"feature_spread":0.09,"feature_spread_healthy":0.125)";
    }
    text += "}\n";
  }
  write_metrics(dir / "metrics.jsonl", text);
  const RunCurves r = read_run_curves(dir.str());
  ASSERT_EQ(r.epochs.metrics.count("knn_top1"), 1u);
  EXPECT_TRUE(std::isnan(r.epochs.metrics.at("knn_top1")[0]));
  EXPECT_DOUBLE_EQ(r.epochs.metrics.at("knn_top1")[3], 0.9);
  EXPECT_EQ(r.steps.metrics.count("knn_top1"), 0u);
  write_curves_png(dir / "c.png", {r});
  const cv::Mat img = cv::imread(dir / "c.png", cv::IMREAD_COLOR);
  ASSERT_FALSE(img.empty());
  EXPECT_EQ(img.cols, 2100);  // loss, accuracy (with kNN), collapse
  // The collapse panel holds the spread's colour (palette 0) and its dashed
  // healthy level (palette 1).
  for (const size_t c : {0u, 1u}) {
    cv::Mat mask;
    cv::inRange(img(cv::Rect(1400, 0, 700, 520)), palette(c), palette(c), mask);
    EXPECT_GT(cv::countNonZero(mask), 30) << c;
  }
}

TEST(CurvesTest, RunWithoutAccuracyDrawsTheLossPanelAlone) {
  relnet::testing::TempDir dir("curves");
  RunCurves run;
  run.name = "infomax";
  for (int e = 1; e <= 3; ++e) {
    run.epochs.x.push_back(e);
    run.epochs.loss.push_back(1.0 / e);
    run.epochs.metrics["loss_local"].push_back(0.8 / e);
    run.epochs.metrics["loss_prior"].push_back(1.3);
  }
  write_curves_png(dir / "c.png", {run});
  const cv::Mat img = cv::imread(dir / "c.png", cv::IMREAD_COLOR);
  ASSERT_FALSE(img.empty());
  EXPECT_EQ(img.cols, 700);
}
#endif

}  // namespace
}  // namespace relnet
