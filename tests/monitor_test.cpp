// The representation monitors: the collapse measure on known features, the
// kNN monitor against `relnet knn` on the same checkpoint, and proof that
// watching does not change what is trained.
#include "relnet/eval/monitor.h"

#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>

#include "relnet/eval/knn.h"
#include "relnet/models/backbone.h"
#include "relnet/train/checkpoint.h"
#include "relnet/util/metrics.h"
#include "test_util.h"

namespace relnet {
namespace {

using relnet::testing::TempDir;

Config monitored_config(const TempDir& dir, const std::string& run) {
  Config c = relnet::testing::tiny_mnist_config(dir / "data", dir / run);
  c.data.workers = 1;
  c.train.epochs = 3;
  c.train.monitor_every = 2;
  c.train.monitor_neighbours = 64;
  c.train.monitor_queries = 30;
  c.train.monitor_k = 20;
  return c;
}

std::vector<nlohmann::json> epoch_records(const std::string& run_dir) {
  std::vector<nlohmann::json> out;
  for (const auto& r : read_jsonl(run_dir + "/metrics.jsonl")) {
    if (r["kind"] == "epoch") out.push_back(r);
  }
  return out;
}

TEST(MonitorTest, FeatureSpreadIsZeroWhenCollapsedAndNearInverseSqrtDWhenGaussian) {
  EXPECT_EQ(feature_spread(torch::ones({50, 64}) * 3), 0.0);
  torch::manual_seed(3);
  for (const int64_t D : {16, 64, 256}) {
    const double spread = feature_spread(torch::randn({4000, D}));
    EXPECT_NEAR(spread, 1.0 / std::sqrt(static_cast<double>(D)), 0.02 / std::sqrt(D)) << D;
  }
  EXPECT_EQ(relnet::testing::error_of([] {
              feature_spread(torch::ones({1, 8}));
            }),
            "feature_spread: need (N, D) features with N >= 2, got [1, 8]");
}

TEST(MonitorTest, KnnMonitorEqualsRelnetKnnOnTheSameCheckpoint) {
  TempDir dir("monitor");
  std::filesystem::create_directories(dir / "data");
  relnet::testing::write_tiny_mnist(dir / "data", 96, 40, 16);
  const Config c = monitored_config(dir, "run");
  RepresentationMonitor monitor(c);
  ASSERT_TRUE(monitor.has_knn());
  train(c, /*resume=*/false, nullptr, &monitor);

  const auto records = epoch_records(c.train.out_dir);
  ASSERT_EQ(records.size(), 3u);
  EXPECT_FALSE(records[0].contains("knn_top1"));  // every 2 epochs, and after the last
  for (const size_t e : {1u, 2u}) {
    for (const char* key :
         {"knn_top1", "knn_top5", "feature_spread", "feature_spread_healthy", "monitor_seconds"}) {
      EXPECT_TRUE(records[e].contains(key)) << key << " in " << records[e].dump();
    }
  }
  EXPECT_DOUBLE_EQ(records[2]["feature_spread_healthy"].get<double>(), 1.0 / 8);  // conv4: D = 64

  KnnOptions o;
  o.checkpoint = c.train.out_dir + "/backbone.pt";
  o.train_subset = 64;
  o.test_subset = 30;
  o.k = 20;
  o.device = "cpu";
  o.threads = 1;
  o.out = dir / "knn.json";
  const KnnResult knn = knn_eval(o);
  EXPECT_EQ(records[2]["knn_top1"].get<double>(), knn.test_accuracy);
  EXPECT_EQ(records[2]["knn_top5"].get<double>(), knn.report["test_top5_accuracy"].get<double>());
}

TEST(MonitorTest, WatchingDoesNotChangeTheTraining) {
  TempDir dir("monitor_same");
  std::filesystem::create_directories(dir / "data");
  relnet::testing::write_tiny_mnist(dir / "data", 64, 40, 16);
  Config watched = monitored_config(dir, "watched");
  watched.train.epochs = 2;
  watched.train.monitor_every = 1;
  RepresentationMonitor monitor(watched);
  train(watched, false, nullptr, &monitor);
  Config plain = watched;
  plain.train.out_dir = dir / "plain";
  train(plain, false);
  const Checkpoint a = load_checkpoint(watched.train.out_dir + "/checkpoint.pt");
  const Checkpoint b = load_checkpoint(plain.train.out_dir + "/checkpoint.pt");
  ASSERT_EQ(a.backbone.size(), b.backbone.size());
  for (size_t i = 0; i < a.backbone.size(); ++i) {
    EXPECT_TRUE(torch::equal(a.backbone[i].second, b.backbone[i].second)) << a.backbone[i].first;
  }
  EXPECT_TRUE(epoch_records(watched.train.out_dir)[0].contains("knn_top1"));
  EXPECT_FALSE(epoch_records(plain.train.out_dir)[0].contains("knn_top1"));
}

TEST(MonitorTest, WithoutLabelledSplitsOnlyTheCollapseMonitorRuns) {
  TempDir dir("monitor_unlabelled");
  std::filesystem::create_directories(dir / "data");
  relnet::testing::write_idx_split(dir / "data", "train", 48, 16, 1);  // no test split
  Config c = monitored_config(dir, "run");
  RepresentationMonitor monitor(c);
  EXPECT_FALSE(monitor.has_knn());
  torch::manual_seed(1);
  Backbone backbone = make_backbone("conv4");
  backbone->eval();
  const MonitorReading r = monitor.measure(*backbone);
  EXPECT_FALSE(r.fields.contains("knn_top1"));
  EXPECT_GT(r.fields["feature_spread"].get<double>(), 0.0);
  EXPECT_NE(r.text.find("feature spread"), std::string::npos) << r.text;
}

TEST(MonitorTest, ASplitSmallerThanTheSubsetIsTakenWhole) {
  TempDir dir("monitor_small");
  std::filesystem::create_directories(dir / "data");
  relnet::testing::write_tiny_mnist(dir / "data", 48, 20, 16);
  Config c = monitored_config(dir, "run");
  c.train.monitor_neighbours = 10000;  // the defaults' sizes, on 48 + 20 images
  c.train.monitor_queries = 2000;
  RepresentationMonitor monitor(c);
  ASSERT_TRUE(monitor.has_knn());
  torch::manual_seed(1);
  Backbone backbone = make_backbone("conv4");
  backbone->eval();
  EXPECT_TRUE(monitor.measure(*backbone).fields.contains("knn_top1"));
}

TEST(MonitorTest, NoMonitorWhenTurnedOff) {
  Config c;
  c.train.monitor_every = 0;
  EXPECT_EQ(make_representation_monitor(c), nullptr);
}

}  // namespace
}  // namespace relnet
