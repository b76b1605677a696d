// `relnet bench` on tiny settings: the report has every part, consistent
// numbers, and both modes run.
#include "relnet/bench/bench.h"

#include <gtest/gtest.h>

namespace relnet {
namespace {

TEST(BenchTest, TrainReportSplitsTheStepAndCountsImages) {
  BenchOptions o;
  o.K = 3;
  o.batch = 4;
  o.steps = 2;
  o.warmup = 1;
  o.side = 16;
  o.threads = 1;
  o.workers = 1;
  const auto r = run_bench(o);
  EXPECT_EQ(r["mode"], "train");
  EXPECT_EQ(r["pairs_per_step"], 3 * 2 * 4);
  const double step = r["seconds_per_step"].get<double>();
  EXPECT_GT(step, 0);
  EXPECT_NEAR(r["images_per_s"].get<double>(), 12 / step, 1e-6 * 12 / step);
  double parts = 0;
  for (const auto& key : {"data_wait", "backbone_forward", "pairs", "head_forward", "head_backward",
                          "backbone_backward", "optimizer"}) {
    ASSERT_TRUE(r["split_s"].contains(key)) << key;
    parts += r["split_s"][key].get<double>();
  }
  EXPECT_GT(r["split_s"]["backbone_forward"].get<double>(), 0);
  EXPECT_EQ(r["split_s"]["pairs"].get<double>(), 0);  // no pairs matrix on the fast path
  EXPECT_GT(r["peak_rss_mb"].get<double>(), 10);
  EXPECT_TRUE(std::isfinite(r["loss"].get<double>()));
  EXPECT_NE(format_bench(r).find("augmented images/s"), std::string::npos);

  o.straightforward = true;
  const auto s = run_bench(o);
  EXPECT_GT(s["split_s"]["pairs"].get<double>(), 0);
  // Same data, same init, same step: the first losses agree.
  EXPECT_NEAR(s["loss"].get<double>(), r["loss"].get<double>(), 1e-4);
}

// Every method runs through the same step; images/s counts backbone inputs.
TEST(BenchTest, EveryMethodReportsItsBackboneInputs) {
  for (const auto& [method, inputs_per_image] : std::vector<std::pair<std::string, int64_t>>{
           {"simclr", 2}, {"deepcluster", 1}, {"infomax", 1}, {"rotation", 4}, {"supervised", 1}}) {
    SCOPED_TRACE(method);
    BenchOptions o;
    o.method = method;
    o.batch = 8;
    o.steps = 1;
    o.warmup = 1;
    o.side = 16;
    o.threads = 1;
    const auto r = run_bench(o);
    EXPECT_EQ(r["method"], method);
    EXPECT_EQ(r["views_per_step"], inputs_per_image * 8);
    EXPECT_EQ(r["pairs_per_step"], 0);
    EXPECT_NEAR(r["images_per_s"].get<double>(),
                inputs_per_image * 8 / r["seconds_per_step"].get<double>(),
                1e-6 * r["images_per_s"].get<double>());
    EXPECT_TRUE(std::isfinite(r["loss"].get<double>()));
    EXPECT_NE(format_bench(r).find(method + " batch=8"), std::string::npos) << format_bench(r);
  }
}

TEST(BenchTest, LinearEvalReportTimesFeaturesAndClassifier) {
  BenchOptions o;
  o.linear_eval = true;
  o.epochs = 2;
  o.train_images = 200;
  o.test_images = 100;
  o.side = 16;
  o.threads = 1;
  const auto r = run_bench(o);
  EXPECT_EQ(r["mode"], "linear_eval");
  EXPECT_GT(r["features_s"].get<double>(), 0);
  EXPECT_GT(r["classifier_s"].get<double>(), 0);
  EXPECT_GE(r["test_accuracy"].get<double>(), 0);
  EXPECT_NE(format_bench(r).find("linear evaluation"), std::string::npos);
}

TEST(BenchTest, RejectsImpossibleSettings) {
  BenchOptions o;
  o.K = 1;
  EXPECT_THROW(run_bench(o), std::invalid_argument);
}

}  // namespace
}  // namespace relnet
