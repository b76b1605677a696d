// Tests of the run directory cleanup: temporaries of dead processes go,
// those of live ones stay; metrics records past the resumed position are
// dropped so that a resumed run lists every epoch once.
#include "relnet/train/run_cleanup.h"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "relnet/train/trainer.h"
#include "relnet/util/metrics.h"
#include "test_util.h"

namespace relnet {
namespace {

namespace fs = std::filesystem;
using relnet::testing::TempDir;

void touch(const std::string& path, const std::string& text = "x") {
  std::ofstream(path, std::ios::binary) << text;
}

// The pid of a child that has exited and been reaped: no live process has it.
long dead_pid() {
  const pid_t child = ::fork();
  if (child == 0) ::_exit(0);
  int status = 0;
  ::waitpid(child, &status, 0);
  return child;
}

TEST(RunCleanupTest, RemovesTemporariesOfDeadProcessesOnly) {
  TempDir dir("stale");
  const std::string dead = dir / ("checkpoint.pt.tmp." + std::to_string(dead_pid()));
  const std::string live = dir / ("backbone.pt.tmp." + std::to_string(::getppid()));
  const std::string own = dir / ("config.json.tmp." + std::to_string(::getpid()));
  touch(dead);
  touch(live);
  touch(own);
  touch(dir / "checkpoint.pt");
  touch(dir / "notes.tmp.txt");
  EXPECT_EQ(remove_stale_temporaries(dir.str()), std::vector<std::string>{dead});
  EXPECT_FALSE(fs::exists(dead));
  EXPECT_TRUE(fs::exists(live));
  EXPECT_TRUE(fs::exists(own));
  EXPECT_TRUE(fs::exists(dir / "checkpoint.pt"));
  EXPECT_TRUE(fs::exists(dir / "notes.tmp.txt"));
  EXPECT_TRUE(remove_stale_temporaries(dir / "missing").empty());
}

TEST(RunCleanupTest, DropsRecordsPastThePosition) {
  TempDir dir("drop");
  const std::string path = dir / "metrics.jsonl";
  touch(path,
        "{\"kind\":\"step\",\"epoch\":1,\"step\":2}\n"
        "{\"kind\":\"epoch\",\"epoch\":1}\n"
        "{\"kind\":\"step\",\"epoch\":2,\"step\":1}\n"
        "{\"kind\":\"step\",\"epoch\":2,\"step\":2}\n"
        "{\"kind\":\"epoch\",\"epoch\":2}\n"
        "{\"kind\":\"note\"}\n"
        "{\"kind\":\"step\",\"epo");  // cut by a crash mid-line
  // Resumed after epoch 1 and one step of epoch 2.
  EXPECT_EQ(drop_metrics_after(path, 1, 1), 3);
  const auto kept = read_jsonl(path);
  ASSERT_EQ(kept.size(), 4u);
  EXPECT_EQ(kept[2]["step"], 1);
  EXPECT_EQ(kept[3]["kind"], "note");
  EXPECT_EQ(drop_metrics_after(path, 1, 1), 0);
  EXPECT_EQ(drop_metrics_after(dir / "missing.jsonl", 0, 0), 0);
}

// A save that failed after the epoch's record was written (or a kill after
// it) leaves the record; the resumed run redoes the epoch and writes it
// again. Only one record per epoch may remain.
TEST(RunCleanupTest, ResumedRunListsEveryEpochOnce) {
  TempDir dir("resume_metrics");
  fs::create_directories(dir / "data");
  relnet::testing::write_tiny_mnist(dir / "data", 32, 16, 16);
  Config c = relnet::testing::tiny_mnist_config(dir / "data", dir / "run");
  c.name = "run";
  c.train.log_interval = 1;
  train(c, false);
  // What epoch 2 of a run killed before its checkpoint was saved leaves.
  {
    std::ofstream out(c.train.out_dir + "/metrics.jsonl", std::ios::app);
    out << "{\"kind\":\"step\",\"epoch\":2,\"step\":1,\"loss\":1}\n"
        << "{\"kind\":\"epoch\",\"epoch\":2,\"loss\":1}\n";
  }
  touch(c.train.out_dir + "/checkpoint.pt.tmp." + std::to_string(dead_pid()));
  c.train.epochs = 2;
  train(c, true);
  int epoch_records[3] = {0, 0, 0};
  for (const auto& r : read_jsonl(c.train.out_dir + "/metrics.jsonl")) {
    if (r["kind"] == "epoch") ++epoch_records[r["epoch"].get<int>()];
    EXPECT_NE(r["loss"], 1) << "a record of the killed epoch survived";
  }
  EXPECT_EQ(epoch_records[1], 1);
  EXPECT_EQ(epoch_records[2], 1);
  for (const auto& entry : fs::directory_iterator(c.train.out_dir)) {
    EXPECT_EQ(entry.path().filename().string().find(".tmp."), std::string::npos) << entry.path();
  }
}

}  // namespace
}  // namespace relnet
