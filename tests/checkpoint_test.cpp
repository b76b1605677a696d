#include "relnet/train/checkpoint.h"

#include <gtest/gtest.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "relnet/models/conv4.h"
#include "relnet/relation/head.h"
#include "relnet/util/fs.h"
#include "test_util.h"

namespace relnet {
namespace {

using relnet::testing::error_of;

using relnet::testing::TempDir;

TEST(CheckpointTest, RoundTripsWeightsOptimizerAndMeta) {
  TempDir dir("ckpt");
  torch::manual_seed(1);
  Conv4 net;
  RelationHead head(128);
  std::vector<torch::Tensor> params = net->parameters();
  for (auto& p : head->parameters()) params.push_back(p);
  torch::optim::Adam opt(params, torch::optim::AdamOptions(1e-3));
  // One step so that Adam has state and BN has running statistics.
  const auto f = net->forward(torch::randn({8, 3, 16, 16}));
  head->forward(torch::cat({f, f.roll(1, 0)}, 1)).sum().backward();
  opt.step();

  Checkpoint ck{state_dict(*net),
                {{"relation", state_dict(*head)}},
                adam_state_to_ivalue(opt),
                nlohmann::json{{"backbone", "conv4"}, {"epoch", 3}},
                {}};
  save_checkpoint(dir / "c.pt", ck);

  const Checkpoint back = load_checkpoint(dir / "c.pt");
  EXPECT_EQ(back.meta["epoch"], 3);
  torch::manual_seed(99);
  Conv4 net2;
  RelationHead head2(128);
  load_state_dict(*net2, back.backbone, "c.pt");
  ASSERT_NE(back.module("relation"), nullptr);
  load_state_dict(*head2, *back.module("relation"), "c.pt");
  const auto a = state_dict(*net), b = state_dict(*net2);
  for (size_t i = 0; i < a.size(); ++i)
    EXPECT_TRUE(torch::equal(a[i].second, b[i].second)) << a[i].first;

  std::vector<torch::Tensor> params2 = net2->parameters();
  for (auto& p : head2->parameters()) params2.push_back(p);
  torch::optim::Adam opt2(params2, torch::optim::AdamOptions(1e-3));
  ASSERT_TRUE(back.optimizer.has_value());
  adam_state_from_ivalue(opt2, *back.optimizer, "c.pt");
  ASSERT_EQ(opt2.state().size(), opt.state().size());
  for (size_t i = 0; i < params.size(); ++i) {
    auto& s1 = static_cast<torch::optim::AdamParamState&>(
        *opt.state().at(c10::guts::to_string(params[i].unsafeGetTensorImpl())));
    auto& s2 = static_cast<torch::optim::AdamParamState&>(
        *opt2.state().at(c10::guts::to_string(params2[i].unsafeGetTensorImpl())));
    EXPECT_EQ(s1.step(), s2.step());
    EXPECT_TRUE(torch::equal(s1.exp_avg(), s2.exp_avg()));
    EXPECT_TRUE(torch::equal(s1.exp_avg_sq(), s2.exp_avg_sq()));
  }
}

TEST(CheckpointTest, CheckpointOfAnotherNetworkNamesTheFirstMismatch) {
  RelationHead small(64, 32);
  RelationHead big(128, 256);
  const std::string msg = error_of([&] { load_state_dict(*big, state_dict(*small), "x.pt"); });
  EXPECT_EQ(msg,
            "x.pt: key '0.weight' has shape [32, 64], the network expects [256, 128] "
            "(a checkpoint of another network?)");
  Conv4 net;
  const std::string msg2 = error_of([&] { load_state_dict(*net, state_dict(*big), "y.pt"); });
  EXPECT_NE(msg2.find("y.pt: missing key 'layer1.conv.weight'"), std::string::npos) << msg2;
}

TEST(CheckpointTest, TruncatedOrMissingFileIsReportedWithItsPath) {
  TempDir dir("ckpt_bad");
  Conv4 net;
  save_checkpoint(dir / "good.pt", Checkpoint{state_dict(*net), {}, std::nullopt, {}, {}});
  auto bytes = read_file(dir / "good.pt");
  bytes.resize(bytes.size() / 2);
  write_file_atomic(dir / "half.pt", bytes.data(), bytes.size());
  const std::string msg = error_of([&] { load_checkpoint(dir / "half.pt"); });
  EXPECT_NE(msg.find("checkpoint '" + (dir / "half.pt") + "'"), std::string::npos) << msg;
  EXPECT_NE(msg.find("truncated or corrupt"), std::string::npos) << msg;
  EXPECT_EQ(error_of([&] { load_checkpoint(dir / "none.pt"); }),
            "checkpoint '" + (dir / "none.pt") + "' does not exist");
}

// A string whose announced length runs past the file made LibTorch's
// unpickler allocate and zero that length first: 4 GB for a 1 KB file. The
// loader checks the pickle's lengths before unpickling (fuzz target
// checkpoint).
TEST(CheckpointTest, APickleLengthPastTheEndIsRefusedBeforeAllocating) {
  TempDir dir("ckpt_len");
  Conv4 net;
  save_checkpoint(dir / "good.pt", Checkpoint{state_dict(*net), {}, std::nullopt, {}, {}});
  auto bytes = read_file(dir / "good.pt");
  // BINUNICODE 'X', length 8, "backbone": announce 0xfb000008 bytes instead.
  const std::string key = std::string("X\x08\x00\x00\x00", 5) + "backbone";
  const auto at = std::search(bytes.begin(), bytes.end(), key.begin(), key.end());
  ASSERT_NE(at, bytes.end());
  *(at + 4) = static_cast<char>(0xfb);
  write_file_atomic(dir / "long.pt", bytes.data(), bytes.size());
  const std::string msg = error_of([&] { load_checkpoint(dir / "long.pt"); });
  EXPECT_NE(msg.find("checkpoint '" + (dir / "long.pt") + "'"), std::string::npos) << msg;
  EXPECT_NE(msg.find("its pickle announces 4211081224 bytes"), std::string::npos) << msg;
}

// Optimizer state of the wrong types used to escape as LibTorch's internal
// assertion (c10::Error), and a NaN step reached a float-to-integer
// conversion that is undefined behaviour (fuzz target checkpoint).
TEST(CheckpointTest, MalformedOptimizerStateIsRefusedNamingTheFile) {
  Conv4 net;
  torch::optim::Adam opt(net->parameters());
  const auto param = net->parameters()[0];
  const auto state = [&](c10::IValue entry) {
    c10::impl::GenericDict per_param(c10::IntType::get(), c10::AnyType::get());
    per_param.insert(int64_t{0}, std::move(entry));
    c10::impl::GenericDict dict(c10::StringType::get(), c10::AnyType::get());
    dict.insert("state", per_param);
    return c10::IValue(dict);
  };
  c10::impl::GenericDict nan_step(c10::StringType::get(), c10::AnyType::get());
  nan_step.insert("exp_avg", torch::zeros_like(param));
  nan_step.insert("exp_avg_sq", torch::zeros_like(param));
  nan_step.insert("step", torch::tensor(std::nan("")));
  EXPECT_EQ(error_of([&] { optimizer_state_from_ivalue(opt, state(nan_step), "c.pt"); }),
            "c.pt: optimizer state unreadable: parameter 0 has step nan");
  const std::string msg =
      error_of([&] { optimizer_state_from_ivalue(opt, state(c10::IValue("text")), "c.pt"); });
  EXPECT_EQ(msg.rfind("c.pt: optimizer state unreadable: ", 0), 0u) << msg;
  EXPECT_EQ(msg.find('\n'), std::string::npos) << msg;
}

// A full disk, simulated with a file-size limit (which binds root too, unlike
// permissions): the save fails naming the file and the previous checkpoint
// stays loadable.
TEST(CheckpointTest, AFullDiskLeavesThePreviousCheckpointIntact) {
  TempDir dir("ckpt_full");
  const std::string path = dir / "checkpoint.pt";
  Conv4 small;
  save_checkpoint(path,
                  Checkpoint{state_dict(*small), {}, std::nullopt, {{"backbone", "conv4"}}, {}});
  const auto before = read_file(path);

  rlimit old{};
  ASSERT_EQ(getrlimit(RLIMIT_FSIZE, &old), 0);
  auto* previous_handler = std::signal(SIGXFSZ, SIG_IGN);  // fail with EFBIG instead of dying
  rlimit tight = old;
  tight.rlim_cur = 4096;
  ASSERT_EQ(setrlimit(RLIMIT_FSIZE, &tight), 0);
  const std::string error = error_of([&] {
    save_checkpoint(
        path, Checkpoint{
                  state_dict(*small), {}, std::nullopt, {{"backbone", "conv4"}, {"epoch", 2}}, {}});
  });
  setrlimit(RLIMIT_FSIZE, &old);
  std::signal(SIGXFSZ, previous_handler);

  EXPECT_EQ(error.rfind("cannot write '" + path + "': write failed: File too large", 0), 0u)
      << error;
  EXPECT_NE(error.find("the previous file, if any, is unchanged"), std::string::npos) << error;
  EXPECT_EQ(read_file(path), before);
  EXPECT_EQ(load_checkpoint(path).meta.value("epoch", -1), -1);
  for (const auto& e : std::filesystem::directory_iterator(dir.str())) {
    EXPECT_EQ(e.path().filename().string().find(".tmp."), std::string::npos) << "temp file left";
  }
}

// A read-only folder: only meaningful when not root (root writes anyway).
TEST(CheckpointTest, AReadOnlyFolderIsReported) {
  if (::geteuid() == 0) GTEST_SKIP() << "running as root, which ignores folder permissions";
  TempDir dir("ckpt_ro");
  std::filesystem::create_directories(dir / "ro");
  std::filesystem::permissions(
      dir / "ro", std::filesystem::perms::owner_read | std::filesystem::perms::owner_exec);
  Conv4 small;
  const std::string error = error_of([&] {
    save_checkpoint(dir / "ro/checkpoint.pt",
                    Checkpoint{state_dict(*small), {}, std::nullopt, {}, {}});
  });
  std::filesystem::permissions(dir / "ro", std::filesystem::perms::owner_all);
  EXPECT_EQ(error, "cannot write '" + dir / "ro/checkpoint.pt" + "': Permission denied");
}

TEST(CheckpointTest, FailedWriteKeepsThePreviousFile) {
  TempDir dir("ckpt_fail");
  const std::string path = dir / "blocked";
  std::filesystem::create_directories(path + "/inside");  // rename onto a non-empty dir fails
  EXPECT_NE(
      error_of([&] { write_file_atomic(path, std::string("x")); }).find("cannot write '" + path),
      std::string::npos);
  EXPECT_TRUE(std::filesystem::is_directory(path + "/inside"));
  for (const auto& e : std::filesystem::directory_iterator(dir.str())) {
    EXPECT_EQ(e.path().filename().string().find(".tmp."), std::string::npos) << "temp file left";
  }
}

// SGD's momentum buffers (the supervised baseline) survive a save and load,
// and another optimizer's state is refused naming what is missing.
TEST(CheckpointTest, SgdStateRoundTripsAndAdamStateIsRefusedForIt) {
  TempDir dir("ckpt_sgd");
  torch::manual_seed(3);
  torch::nn::Linear net(4, 3);
  torch::optim::SGD sgd(net->parameters(), torch::optim::SGDOptions(0.1).momentum(0.9));
  net->forward(torch::randn({5, 4})).sum().backward();
  sgd.step();
  Checkpoint ck;
  ck.backbone = state_dict(*net);
  ck.modules = {{"supervised_classifier", state_dict(*net)}};
  ck.optimizer = optimizer_state_to_ivalue(sgd);
  save_checkpoint(dir / "c.pt", ck);
  const Checkpoint back = load_checkpoint(dir / "c.pt");
  ASSERT_NE(back.module("supervised_classifier"), nullptr);
  torch::nn::Linear net2(4, 3);
  torch::optim::SGD sgd2(net2->parameters(), torch::optim::SGDOptions(0.1).momentum(0.9));
  optimizer_state_from_ivalue(sgd2, *back.optimizer, "c.pt");
  for (size_t i = 0; i < net->parameters().size(); ++i) {
    const auto key = c10::guts::to_string(net->parameters()[i].unsafeGetTensorImpl());
    const auto key2 = c10::guts::to_string(net2->parameters()[i].unsafeGetTensorImpl());
    EXPECT_TRUE(torch::equal(
        static_cast<torch::optim::SGDParamState&>(*sgd.state().at(key)).momentum_buffer(),
        static_cast<torch::optim::SGDParamState&>(*sgd2.state().at(key2)).momentum_buffer()));
  }
  torch::optim::Adam adam(net2->parameters());
  EXPECT_NE(
      relnet::testing::error_of([&] {
        optimizer_state_from_ivalue(adam, *back.optimizer, "c.pt");
      }).find("c.pt: optimizer state unreadable: parameter 0 has no exp_avg (not Adam state?)"),
      std::string::npos);
}

// backbone.pt must open in Python's torch.load with the reference key names,
// load strictly into a PyTorch Conv4 and give the same features.
TEST(CheckpointTest, BackboneFileLoadsInPyTorch) {
  if (std::system(RELNET_PYTHON " -c 'import torch' >/dev/null 2>&1") != 0) {
    GTEST_SKIP() << RELNET_PYTHON << " with torch is not installed (scripts/setup.sh installs it)";
  }
  TempDir dir("ckpt_py");
  torch::manual_seed(5);
  Conv4 net;
  net->eval();
  const auto x = torch::rand({4, 3, 32, 32});
  const auto features = net->forward(x);
  save_checkpoint(dir / "backbone.pt",
                  Checkpoint{state_dict(*net), {}, std::nullopt, {{"backbone", "conv4"}}, {}});
  c10::impl::GenericDict io(c10::StringType::get(), c10::TensorType::get());
  io.insert("x", x);
  io.insert("features", features.detach());
  const auto bytes = torch::pickle_save(c10::IValue(io));
  write_file_atomic(dir / "io.pt", bytes.data(), bytes.size());
  const std::string cmd = std::string(RELNET_PYTHON) + " " + RELNET_SOURCE_DIR +
                          "/tests/python/check_backbone.py " + (dir / "backbone.pt") + " " +
                          (dir / "io.pt");
  EXPECT_EQ(std::system(cmd.c_str()), 0) << cmd;
}

}  // namespace
}  // namespace relnet
