// Tests of the finiteness guard: the scan names the first NaN or inf,
// save_checkpoint refuses to write one, training never saves a non-finite
// model (even when the loss is finite) nor resumes from one, and
// evaluations refuse a non-finite backbone.
#include "relnet/train/finite.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <limits>

#include "relnet/eval/features.h"
#include "relnet/models/conv4.h"
#include "relnet/train/trainer.h"
#include "relnet/util/fs.h"
#include "test_util.h"

namespace relnet {
namespace {

namespace fs = std::filesystem;
using relnet::testing::error_of;
using relnet::testing::TempDir;

constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();
constexpr float kInf = std::numeric_limits<float>::infinity();

// Writes `ck` as save_checkpoint would, without its finiteness check: how a
// file from an older relnet or from Python may look.
void write_unchecked(const std::string& path, const Checkpoint& ck) {
  c10::impl::GenericDict root(c10::StringType::get(), c10::AnyType::get());
  c10::impl::GenericDict backbone(c10::StringType::get(), c10::TensorType::get());
  for (const auto& [key, tensor] : ck.backbone) backbone.insert(key, tensor);
  root.insert("backbone", backbone);
  for (const auto& [name, dict] : ck.modules) {
    c10::impl::GenericDict module(c10::StringType::get(), c10::TensorType::get());
    for (const auto& [key, tensor] : dict) module.insert(key, tensor);
    root.insert(name, module);
  }
  if (ck.optimizer) root.insert("optimizer", *ck.optimizer);
  root.insert("meta", ck.meta.dump());
  const std::vector<char> bytes = torch::pickle_save(c10::IValue(root));
  write_file_atomic(path, bytes.data(), bytes.size());
}

TEST(FiniteTest, NamesTheFirstNonFiniteTensor) {
  Checkpoint ck;
  ck.backbone = {{"a", torch::ones({2})}, {"b", torch::tensor({1.0f, kNaN})}};
  EXPECT_EQ(first_nonfinite_tensor(ck), "backbone.b (NaN)");
  ck.backbone[1].second = torch::ones({2});
  EXPECT_EQ(first_nonfinite_tensor(ck), "");
  ck.modules = {{"relation", {{"0.weight", torch::tensor({-kInf})}}}};
  EXPECT_EQ(first_nonfinite_tensor(ck), "relation.0.weight (inf)");
  ck.modules.clear();
  c10::impl::GenericDict entry(c10::StringType::get(), c10::AnyType::get());
  entry.insert("exp_avg_sq", torch::tensor({kInf}));
  c10::impl::GenericDict state(c10::IntType::get(), c10::AnyType::get());
  state.insert(3, entry);
  c10::impl::GenericDict optimizer(c10::StringType::get(), c10::AnyType::get());
  optimizer.insert("state", state);
  ck.optimizer = optimizer;
  EXPECT_EQ(first_nonfinite_tensor(ck), "optimizer.state.3.exp_avg_sq (inf)");
  ck.backbone.emplace_back("steps", torch::tensor({int64_t{7}}));  // integers are never NaN
  EXPECT_EQ(first_nonfinite_tensor(ck), "optimizer.state.3.exp_avg_sq (inf)");
}

TEST(FiniteTest, SaveRefusesANonFiniteCheckpointAndKeepsTheFile) {
  TempDir dir("finite_save");
  const std::string path = dir / "checkpoint.pt";
  Checkpoint good;
  good.backbone = {{"w", torch::ones({3})}};
  save_checkpoint(path, good);
  Checkpoint bad;
  bad.backbone = {{"w", torch::tensor({1.0f, kNaN, 2.0f})}};
  EXPECT_EQ(error_of([&] { save_checkpoint(path, bad); }),
            "refusing to write checkpoint '" + path +
                "': it would hold non-finite values (backbone.w (NaN)); the file on disk was left "
                "as it was");
  EXPECT_TRUE(torch::equal(load_checkpoint(path).backbone[0].second, torch::ones({3})));
}

TEST(FiniteTest, EvaluationRefusesANonFiniteBackbone) {
  TempDir dir("finite_eval");
  Conv4 net;
  StateDict weights = state_dict(*net);
  weights[0].second = weights[0].second.detach().clone();
  weights[0].second.view(-1)[5] = kInf;
  Checkpoint ck;
  ck.backbone = weights;
  ck.meta = {{"backbone", "conv4"}, {"dataset", "mnist"}};
  write_unchecked(dir / "backbone.pt", ck);
  EvalSource source;
  source.checkpoint = dir / "backbone.pt";
  source.data_root = dir / "data";
  EXPECT_EQ(error_of([&] { load_eval_model(source); }),
            "checkpoint '" + source.checkpoint + "' holds non-finite values (backbone." +
                weights[0].first +
                " (inf)): nothing can be evaluated on it; evaluate an earlier checkpoint "
                "(epoch_<E>.pt) or retrain with a lower train.lr");
  source.random_init = true;  // random weights do not read the file's
  EXPECT_NO_THROW(load_eval_model(source));
}

Config tiny_run(const TempDir& dir, const std::string& run) {
  fs::create_directories(dir / "data");
  relnet::testing::write_tiny_mnist(dir / "data", 32, 16, 16);
  Config c = relnet::testing::tiny_mnist_config(dir / "data", dir / run);
  c.name = run;
  return c;
}

// Inputs so large that BatchNorm's batch variance overflows float: the
// forward pass normalizes them to finite values (the loss stays finite),
// but the running variance it keeps becomes inf. Before the guard this
// model was saved as checkpoint.pt and backbone.pt.
TEST(FiniteTest, TrainingNeverSavesANonFiniteModelWithAFiniteLoss) {
  TempDir dir("finite_train");
  Config c = tiny_run(dir, "overflow");
  c.model.fused = false;
  c.data.mean = {0, 0, 0};
  c.data.std = {1e-25, 1e-25, 1e-25};
  const std::string error = error_of([&] { train(c, false); });
  EXPECT_NE(error.find("the model became non-finite (backbone."), std::string::npos) << error;
  EXPECT_NE(error.find(" at epoch 1, step "), std::string::npos) << error;
  EXPECT_NE(error.find("no checkpoint has been saved yet"), std::string::npos) << error;
  EXPECT_FALSE(fs::exists(c.train.out_dir + "/checkpoint.pt"));
  EXPECT_FALSE(fs::exists(c.train.out_dir + "/backbone.pt"));
}

TEST(FiniteTest, ResumeRefusesANonFiniteCheckpoint) {
  TempDir dir("finite_resume");
  Config c = tiny_run(dir, "poisoned");
  train(c, false);
  const std::string path = c.train.out_dir + "/checkpoint.pt";
  Checkpoint ck = load_checkpoint(path);
  ck.backbone[0].second = torch::full_like(ck.backbone[0].second, kNaN);
  write_unchecked(path, ck);
  c.train.epochs = 2;
  EXPECT_EQ(error_of([&] { train(c, true); }),
            "checkpoint '" + path + "' holds non-finite values (backbone." + ck.backbone[0].first +
                " (NaN)): it cannot be resumed; resume from an earlier epoch_<E>.pt copied to "
                "checkpoint.pt, or restart");
}

}  // namespace
}  // namespace relnet
