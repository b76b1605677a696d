// Tests of the pickle rewrite for Python-written checkpoints: APPEND and
// SETITEM become their batched forms (the bytes Python's own unpickler reads
// as the same object), unknown opcodes are left alone, and a checkpoint.pt
// loaded and saved again by PyTorch loads and resumes in relnet.
#include "relnet/train/pickle_compat.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>

#include "relnet/train/checkpoint.h"
#include "relnet/train/trainer.h"
#include "test_util.h"

namespace relnet {
namespace {

using relnet::testing::TempDir;

std::vector<char> bytes_of(const std::string& s) { return {s.begin(), s.end()}; }

// pickle.dumps({"a": [1], "b": {"c": (2.5, "x")}}, protocol=2) by Python.
const std::string kPython(
    "\x80\x02}q\x00(X\x01\x00\x00\x00"
    "aq\x01]q\x02K\x01"
    "aX\x01\x00\x00\x00"
    "bq\x03}q\x04X"
    "\x01\x00\x00\x00"
    "cq\x05G@\x04\x00\x00\x00\x00\x00\x00X\x01\x00\x00\x00xq\x06\x86q\x07su.",
    62);
// The same with MARK (K 1) APPENDS and MARK (X 'c' ...) SETITEMS; Python's
// pickle.loads gives the same dict.
const std::string kBatched(
    "\x80\x02}q\x00(X\x01\x00\x00\x00"
    "aq\x01]q\x02(K\x01"
    "eX\x01\x00\x00\x00"
    "bq\x03}q\x04("
    "X\x01\x00\x00\x00"
    "cq\x05G@\x04\x00\x00\x00\x00\x00\x00X\x01\x00\x00\x00xq\x06\x86q\x07uu.",
    64);

TEST(PickleCompatTest, BatchesSingleAppendAndSetitem) {
  const auto out = batch_single_item_opcodes(bytes_of(kPython));
  ASSERT_TRUE(out.has_value());
  EXPECT_EQ(std::string(out->begin(), out->end()), kBatched);
  // Already batched: unchanged.
  EXPECT_EQ(batch_single_item_opcodes(bytes_of(kBatched)), bytes_of(kBatched));
}

TEST(PickleCompatTest, UnknownOpcodesAndCutStreamsAreLeftAlone) {
  EXPECT_FALSE(batch_single_item_opcodes(bytes_of("\x80\x02\xff.")).has_value());
  EXPECT_FALSE(batch_single_item_opcodes(bytes_of(kPython.substr(0, 30))).has_value());
  EXPECT_FALSE(batch_single_item_opcodes(bytes_of("\x80\x02K\x01"
                                                  "a."))
                   .has_value())
      << "APPEND without a list";
  EXPECT_FALSE(rewrite_python_checkpoint(bytes_of("not a zip")).has_value());
}

// relnet's checkpoint.pt through torch.load and torch.save, unchanged: the
// file LibTorch 1.13 rejected as corrupt loads, and training resumes from it.
TEST(PickleCompatTest, CheckpointResavedByPyTorchLoadsAndResumes) {
  if (std::system(RELNET_PYTHON " -c 'import torch' >/dev/null 2>&1") != 0) {
    GTEST_SKIP() << RELNET_PYTHON << " with torch is not installed (scripts/setup.sh installs it)";
  }
  TempDir dir("python_round_trip");
  std::filesystem::create_directories(dir / "data");
  relnet::testing::write_tiny_mnist(dir / "data", 32, 16, 16);
  Config c = relnet::testing::tiny_mnist_config(dir / "data", dir / "run");
  c.name = "run";
  train(c, false);
  const std::string path = c.train.out_dir + "/checkpoint.pt";
  const Checkpoint before = load_checkpoint(path);
  const std::string cmd = std::string(RELNET_PYTHON) +
                          " -c 'import sys, torch; torch.save(torch.load(sys.argv[1]), "
                          "sys.argv[1])' '" +
                          path + "'";
  ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
  const Checkpoint after = load_checkpoint(path);
  ASSERT_EQ(after.backbone.size(), before.backbone.size());
  for (size_t i = 0; i < before.backbone.size(); ++i) {
    EXPECT_EQ(after.backbone[i].first, before.backbone[i].first);
    EXPECT_TRUE(torch::equal(after.backbone[i].second, before.backbone[i].second));
  }
  EXPECT_EQ(after.meta, before.meta);
  c.train.epochs = 2;
  EXPECT_EQ(train(c, true).epochs_completed, 2);
}

}  // namespace
}  // namespace relnet
