// `relnet compare`'s lists, summaries and reports (the end-to-end run, with
// a stop and a resume, is tests/smoke/compare.sh).
#include "relnet/compare/compare.h"

#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>

#include "relnet/compare/compare_report.h"
#include "relnet/util/plot.h"
#include "test_util.h"

#ifdef RELNET_WITH_IMAGE_IO
#include <opencv2/imgcodecs.hpp>
#endif

namespace relnet {
namespace {

using relnet::testing::error_of;

TEST(CompareTest, MethodAndSeedListsAreParsedAndCheckedInOneLine) {
  EXPECT_EQ(parse_method_list("relational, simclr,random"),
            (std::vector<std::string>{"relational", "simclr", "random"}));
  EXPECT_EQ(parse_seed_list("1,2, 30"), (std::vector<int64_t>{1, 2, 30}));
  EXPECT_EQ(error_of([] { parse_method_list("relational,simclrr"); }),
            "--methods: unknown method 'simclrr' (known: relational, simclr, deepcluster, "
            "infomax, rotation, supervised, random)");
  EXPECT_EQ(error_of([] { parse_method_list("simclr,simclr"); }),
            "--methods: 'simclr' is named twice");
  EXPECT_EQ(error_of([] { parse_method_list(""); }),
            "--methods: unknown method '' (known: relational, simclr, deepcluster, infomax, "
            "rotation, supervised, random)");
  EXPECT_EQ(error_of([] { parse_seed_list("1,two"); }),
            "--seeds: 'two' is not a seed (whole numbers >= 0, e.g. --seeds 1,2,3)");
  EXPECT_EQ(error_of([] { parse_seed_list("1,-2"); }),
            "--seeds: '-2' is not a seed (whole numbers >= 0, e.g. --seeds 1,2,3)");
  EXPECT_EQ(error_of([] { parse_seed_list("1,,2"); }),
            "--seeds: '' is not a seed (whole numbers >= 0, e.g. --seeds 1,2,3)");
  EXPECT_EQ(error_of([] { parse_seed_list("3,3"); }), "--seeds: 3 is named twice");
}

CompareRun run(const std::string& method, int64_t seed, double top1, double seconds) {
  CompareRun r;
  r.method = method;
  r.seed = seed;
  r.dir = "out/" + method + "/seed" + std::to_string(seed);
  r.linear_top1 = top1;
  r.linear_top5 = 0.99;
  r.linear_mean_per_class = top1 - 0.01;
  r.knn_top1 = top1 - 0.02;
  r.knn_top5 = 0.98;
  r.feature_spread = 0.1;
  r.train_seconds = seconds;
  r.images_per_s = 1000;
  r.peak_memory_mb = 512;
  return r;
}

std::vector<CompareRun> runs() {
  std::vector<CompareRun> v{run("relational", 1, 0.80, 120), run("relational", 2, 0.84, 140),
                            run("simclr", 1, 0.70, 60),      run("simclr", 2, 0.72, 62),
                            run("random", 1, 0.50, NAN),     run("random", 2, 0.52, NAN)};
  v[4].peak_memory_mb = v[5].peak_memory_mb = NAN;
  v[4].images_per_s = v[5].images_per_s = NAN;
  return v;
}

CompareHeader header() {
  CompareHeader h;
  h.config = "base.json";
  h.dataset = "fashion_mnist";
  h.backbone = "conv4";
  h.epochs = 3;
  h.methods = {"relational", "simclr", "random"};
  h.seeds = {1, 2};
  h.linear_epochs = 100;
  h.knn_k = 200;
  return h;
}

TEST(CompareTest, SummariesAreMeanAndPopulationStdOverSeeds) {
  const Spread s = spread_of({0.80, 0.84, NAN});
  EXPECT_NEAR(s.mean, 0.82, 1e-12);
  EXPECT_NEAR(s.std, 0.02, 1e-12);
  EXPECT_TRUE(std::isnan(spread_of({NAN}).mean));
  const auto rows = summarize(runs());
  ASSERT_EQ(rows.size(), 3u);
  EXPECT_EQ(rows[0].method, "relational");
  EXPECT_EQ(rows[0].runs, 2);
  EXPECT_NEAR(rows[0].linear_top1.mean, 0.82, 1e-12);
  EXPECT_NEAR(rows[1].train_seconds.mean, 61, 1e-12);
  EXPECT_TRUE(std::isnan(rows[2].train_seconds.mean));
}

TEST(CompareTest, MarkdownHasOneRowPerMethodInPercent) {
  const std::string md = compare_markdown(header(), summarize(runs()));
  EXPECT_NE(md.find("| relational | 2 | 82.00 ± 2.00 | 99.00 ± 0.00 | 81.00 ± 2.00 | "
                    "80.00 ± 2.00 | 98.00 ± 0.00 | 0.1000 | 130 | 1000 | 512 |"),
            std::string::npos)
      << md;
  EXPECT_NE(md.find("| random weights (lower bound) | 2 | 51.00 ± 1.00 |"), std::string::npos)
      << md;
  EXPECT_NE(md.find("| - | - | - |\n"), std::string::npos) << md;  // no training cost
  EXPECT_NE(md.find("linear evaluation (100 epochs) and weighted kNN (k = 200)"),
            std::string::npos);
}

TEST(CompareTest, JsonListsEveryRunAndRoundTrips) {
  const auto j = compare_json(header(), runs());
  ASSERT_EQ(j["runs"].size(), 6u);
  EXPECT_EQ(j["runs"][2]["method"], "simclr");
  EXPECT_TRUE(j["runs"][4]["train_seconds"].is_null());
  EXPECT_EQ(j["summary"].size(), 3u);
  EXPECT_NEAR(j["summary"][1]["linear_top1"]["mean"].get<double>(), 0.71, 1e-12);
  const CompareRun back = CompareRun::from_json(j["runs"][1]);
  EXPECT_EQ(back.seed, 2);
  EXPECT_EQ(back.linear_top1, 0.84);
  EXPECT_TRUE(std::isnan(CompareRun::from_json(j["runs"][5]).peak_memory_mb));
}

#ifdef RELNET_WITH_IMAGE_IO
TEST(ComparePictureTest, BarsAndCostPanelAreDrawn) {
  relnet::testing::TempDir dir("compare_png");
  const std::string path = dir / "compare.png";
  write_compare_png(path, header(), runs());
  const cv::Mat png = cv::imread(path, cv::IMREAD_COLOR);
  ASSERT_FALSE(png.empty());
  EXPECT_EQ(png.cols, 1400);
  for (size_t i = 0; i < 3; ++i) {  // every method's bar colour is on it
    cv::Mat mask;
    cv::inRange(png, palette(i), palette(i), mask);
    EXPECT_GT(cv::countNonZero(mask), 500) << i;
  }
}
#endif

TEST(CompareTest, ARunWithoutTheRelnetExecutableIsRefused) {
  CompareOptions o;
  o.config = "base.json";
  o.methods = {"relational"};
  o.seeds = {1};
  o.relnet = "/nonexistent/relnet";
  EXPECT_EQ(error_of([&] { run_compare(o); }),
            "compare: the relnet executable '/nonexistent/relnet' does not exist");
}

}  // namespace
}  // namespace relnet
