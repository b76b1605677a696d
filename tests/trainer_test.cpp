#include "relnet/train/trainer.h"

#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>

#include "relnet/train/checkpoint.h"
#include "relnet/util/metrics.h"
#include "relnet/util/runtime.h"
#include "test_util.h"

namespace relnet {
namespace {

using relnet::testing::TempDir;

Config tiny_config(const TempDir& dir, const std::string& run) {
  Config c = relnet::testing::tiny_mnist_config(dir / "data", dir / run);
  c.name = run;
  c.data.workers = 1;
  c.augment.K = 3;
  c.train.epochs = 2;
  c.train.log_interval = 4;
  return c;
}

void write_data(const TempDir& dir) {
  std::filesystem::create_directories(dir / "data");
  relnet::testing::write_tiny_mnist(dir / "data", 96, 40, 16);
}

void expect_same_backbone(const std::string& a, const std::string& b) {
  const Checkpoint ca = load_checkpoint(a), cb = load_checkpoint(b);
  ASSERT_EQ(ca.backbone.size(), cb.backbone.size());
  for (size_t i = 0; i < ca.backbone.size(); ++i) {
    EXPECT_TRUE(torch::equal(ca.backbone[i].second, cb.backbone[i].second)) << ca.backbone[i].first;
  }
}

TEST(TrainerTest, ShortRunLowersTheLossAndWritesTheRunFiles) {
  TempDir dir("train");
  write_data(dir);
  Config c = tiny_config(dir, "run");
  c.train.epochs = 12;
  const TrainSummary s = train(c, /*resume=*/false);
  EXPECT_EQ(s.epochs_completed, 12);
  EXPECT_EQ(s.global_step, 12 * 6);
  for (const char* f : {"config.json", "metrics.jsonl", "checkpoint.pt", "backbone.pt"}) {
    EXPECT_TRUE(std::filesystem::exists(c.train.out_dir + "/" + f)) << f;
  }
  std::vector<double> epoch_loss;
  for (const auto& rec : read_jsonl(c.train.out_dir + "/metrics.jsonl")) {
    for (const char* key :
         {"loss", "accuracy", "accuracy_positive", "accuracy_negative", "images_per_s"}) {
      EXPECT_TRUE(rec.contains(key)) << rec.dump();
    }
    if (rec["kind"] == "epoch") epoch_loss.push_back(rec["loss"].get<double>());
  }
  ASSERT_EQ(epoch_loss.size(), 12u);
  EXPECT_LT(epoch_loss.back(), epoch_loss.front() - 0.05)
      << "first " << epoch_loss.front() << " last " << epoch_loss.back();

  const Checkpoint ck = load_checkpoint(c.train.out_dir + "/checkpoint.pt");
  EXPECT_EQ(ck.meta["backbone"], "conv4");
  EXPECT_EQ(ck.meta["epoch"], 12);
  EXPECT_EQ(ck.meta["feature_size"], 64);
  ASSERT_NE(ck.module("relation"), nullptr);
  EXPECT_EQ(ck.module("relation")->size(), 9u);
  EXPECT_TRUE(ck.optimizer.has_value());
  const Checkpoint bb = load_checkpoint(c.train.out_dir + "/backbone.pt");
  EXPECT_TRUE(bb.modules.empty());
  EXPECT_FALSE(bb.optimizer.has_value());
}

TEST(TrainerTest, ResumeGivesTheSameWeightsAsAnUninterruptedRun) {
  TempDir dir("resume");
  write_data(dir);
  const Config full = tiny_config(dir, "full");
  train(full, false);

  Config part = tiny_config(dir, "part");
  part.train.epochs = 1;
  train(part, false);
  part.train.epochs = 2;
  const TrainSummary s = train(part, /*resume=*/true);
  EXPECT_EQ(s.epochs_completed, 2);
  expect_same_backbone(full.train.out_dir + "/backbone.pt", part.train.out_dir + "/backbone.pt");
}

TEST(TrainerTest, StopRequestSavesMidEpochAndResumeCompletesIdentically) {
  TempDir dir("stop");
  write_data(dir);
  const Config full = tiny_config(dir, "full");
  train(full, false);

  const Config c = tiny_config(dir, "stopped");
  request_stop();
  const TrainSummary s = train(c, false);
  clear_stop();
  EXPECT_TRUE(s.interrupted);
  EXPECT_EQ(s.global_step, 1);
  EXPECT_EQ(load_checkpoint(c.train.out_dir + "/checkpoint.pt").meta["step_in_epoch"], 1);
  const TrainSummary r = train(c, true);
  EXPECT_FALSE(r.interrupted);
  EXPECT_EQ(r.global_step, 12);
  expect_same_backbone(full.train.out_dir + "/backbone.pt", c.train.out_dir + "/backbone.pt");
}

TEST(TrainerTest, NonFiniteLossStopsWithAClearMessage) {
  TempDir dir("nan");
  write_data(dir);
  Config c = tiny_config(dir, "nan");
  c.data.mean = {3e38, 3e38, 3e38};  // normalized inputs overflow to -inf
  c.data.std = {1e-3, 1e-3, 1e-3};
  try {
    train(c, false);
    FAIL() << "expected an error";
  } catch (const std::runtime_error& e) {
    EXPECT_EQ(std::string(e.what()),
              "loss became nan at epoch 1, step 1 (global step 1); nothing of this step was saved; "
              "no checkpoint has been saved yet: lower train.lr and restart");
  }
  EXPECT_FALSE(std::filesystem::exists(c.train.out_dir + "/checkpoint.pt"));
}

TEST(TrainerTest, EveryAggregationAndLossIsWiredIntoTheHead) {
  TempDir dir("agg");
  write_data(dir);
  for (const std::string agg : {"cat", "sum", "mean", "max"}) {
    Config c = tiny_config(dir, "agg_" + agg);
    c.train.epochs = 1;
    c.model.aggregation = agg;
    c.model.loss = agg == "cat" ? "bce" : "focal";
    const TrainSummary s = train(c, false);
    EXPECT_TRUE(std::isfinite(s.last_epoch_loss)) << agg;
    const Checkpoint ck = load_checkpoint(c.train.out_dir + "/checkpoint.pt");
    ASSERT_NE(ck.module("relation"), nullptr);
    const StateDict& relation = *ck.module("relation");
    ASSERT_EQ(relation[0].first, "0.weight");
    EXPECT_EQ(relation[0].second.size(1), agg == "cat" ? 128 : 64) << agg;
    EXPECT_EQ(ck.meta["config"]["model"]["aggregation"], agg);
  }
}

TEST(TrainerTest, EpochCheckpointsKeepTheNewestAndRecordTheirEpoch) {
  TempDir dir("trainer_epochs");
  write_data(dir);
  Config c = tiny_config(dir, "epochs");
  c.train.epochs = 4;
  c.train.epoch_checkpoints = 1;
  c.train.keep_last = 2;
  train(c, false);
  const auto files = epoch_checkpoint_files(c.train.out_dir);
  ASSERT_EQ(files.size(), 2u);
  EXPECT_EQ(files[0].first, 3);
  EXPECT_EQ(files[1].first, 4);
  const Checkpoint e3 = load_checkpoint(files[0].second);
  EXPECT_EQ(e3.meta["epoch"], 3);
  EXPECT_TRUE(e3.optimizer.has_value()) << "epoch checkpoints must be resumable";
  EXPECT_NE(e3.module("relation"), nullptr);
  EXPECT_TRUE(e3.meta.contains("git_commit"));
  // The newest equals checkpoint.pt.
  expect_same_backbone(files[1].second, c.train.out_dir + "/checkpoint.pt");
  // Other files in the folder are left alone.
  EXPECT_TRUE(std::filesystem::exists(c.train.out_dir + "/backbone.pt"));
}

TEST(TrainerTest, ResumeWithoutCheckpointNamesThePath) {
  TempDir dir("noresume");
  write_data(dir);
  const Config c = tiny_config(dir, "none");
  try {
    train(c, true);
    FAIL();
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find(c.train.out_dir + "/checkpoint.pt"), std::string::npos);
  }
}

}  // namespace
}  // namespace relnet
