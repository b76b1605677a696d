// Every training method end to end through the trainer, on generated
// labelled images whose classes differ by the row of a bar in heavy noise (a
// difference crops, flips, colour jitter and turns keep): a few epochs lift
// linear-eval accuracy clearly above the same backbone with random weights;
// a run interrupted inside an epoch and resumed equals an uninterrupted one
// bit for bit; the factory and the config reject what a method cannot train.
#include <gtest/gtest.h>

#include <filesystem>

#include "relnet/eval/linear_eval.h"
#include "relnet/methods/clustering.h"
#include "relnet/methods/method.h"
#include "relnet/methods/supervised.h"
#include "relnet/train/checkpoint.h"
#include "relnet/train/trainer.h"
#include "relnet/util/runtime.h"
#include "test_util.h"

namespace relnet {
namespace {

using relnet::testing::TempDir;

// A tiny run of `method` on the MNIST-format data in dir/data.
Config method_config(const TempDir& dir, const std::string& method, const std::string& run) {
  Config c = relnet::testing::tiny_mnist_config(dir / "data", dir / run);
  c.name = run;
  c.method.name = method;
  c.method.clusters = 20;  // DeepCluster: k for 10 classes of a few hundred images
  c.augment.K = 4;
  c.train.batch_size = 32;
  c.train.log_interval = 5;
  return c;
}

double linear_accuracy(const std::string& checkpoint, bool random_init) {
  LinearEvalOptions opt;
  opt.checkpoint = checkpoint;
  opt.epochs = 40;
  opt.lr = 1e-2;
  opt.device = "cpu";
  opt.threads = 1;
  opt.random_init = random_init;
  return linear_eval(opt).test_accuracy;
}

void expect_same_state(const StateDict& a, const StateDict& b, const std::string& what) {
  ASSERT_EQ(a.size(), b.size()) << what;
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_TRUE(torch::equal(a[i].second, b[i].second)) << what << " " << a[i].first;
  }
}

class MethodTrainingTest : public ::testing::TestWithParam<std::string> {};

TEST_P(MethodTrainingTest, FewEpochsBeatRandomWeights) {
  if (GetParam() == "deepcluster" && !clustering_available()) GTEST_SKIP() << "built without faiss";
  TempDir dir("method_learns");
  std::filesystem::create_directories(dir / "data");
  relnet::testing::write_tiny_mnist(dir / "data", 480, 200, 16, /*noisy=*/true);
  Config c = method_config(dir, GetParam(), "run");
  c.train.epochs = 6;
  const TrainSummary s = train(c, false);
  ASSERT_EQ(s.epochs_completed, 6);
  const Checkpoint ck = load_checkpoint(dir / "run/checkpoint.pt");
  EXPECT_EQ(ck.meta["method"], GetParam());
  EXPECT_FALSE(ck.modules.empty());
  const double trained = linear_accuracy(dir / "run/backbone.pt", false);
  const double random = linear_accuracy(dir / "run/backbone.pt", true);
  std::cout << GetParam() << ": linear accuracy " << trained << " (random weights " << random
            << ")\n";
  EXPECT_LT(random, 0.75);  // the data needs learned features
  EXPECT_GT(trained, random + 0.2) << GetParam();
}

TEST_P(MethodTrainingTest, ResumeInsideAnEpochEqualsAnUninterruptedRun) {
  if (GetParam() == "deepcluster" && !clustering_available()) GTEST_SKIP() << "built without faiss";
  TempDir dir("method_resume");
  std::filesystem::create_directories(dir / "data");
  relnet::testing::write_tiny_mnist(dir / "data", 96, 16, 16);
  Config full = method_config(dir, GetParam(), "full");
  full.train.epochs = 2;
  train(full, false);

  Config part = method_config(dir, GetParam(), "part");
  part.train.epochs = 2;
  request_stop();
  const TrainSummary stopped = train(part, false);
  clear_stop();
  ASSERT_TRUE(stopped.interrupted);
  EXPECT_EQ(load_checkpoint(dir / "part/checkpoint.pt").meta["step_in_epoch"], 1);
  const TrainSummary resumed = train(part, true);
  EXPECT_FALSE(resumed.interrupted);
  EXPECT_EQ(resumed.global_step, 2 * 3);

  const Checkpoint a = load_checkpoint(dir / "full/checkpoint.pt");
  const Checkpoint b = load_checkpoint(dir / "part/checkpoint.pt");
  expect_same_state(a.backbone, b.backbone, "backbone");
  ASSERT_EQ(a.modules.size(), b.modules.size());
  for (size_t m = 0; m < a.modules.size(); ++m) {
    EXPECT_EQ(a.modules[m].first, b.modules[m].first);
    expect_same_state(a.modules[m].second, b.modules[m].second, a.modules[m].first);
  }
}

INSTANTIATE_TEST_SUITE_P(EveryMethod, MethodTrainingTest, ::testing::ValuesIn(known_methods()),
                         [](const auto& info) { return info.param; });

TEST(MethodTest, ResumeWithAnotherMethodNamesBoth) {
  TempDir dir("method_switch");
  std::filesystem::create_directories(dir / "data");
  relnet::testing::write_tiny_mnist(dir / "data", 64, 16, 16);
  Config c = method_config(dir, "relational", "run");
  train(c, false);
  c.method.name = "simclr";
  const std::string e = relnet::testing::error_of([&] { train(c, true); });
  EXPECT_NE(e.find("was trained with method 'relational', the config asks for 'simclr'"),
            std::string::npos)
      << e;
}

TEST(MethodTest, SupervisedRefusesUnlabeledImages) {
  Config c;
  c.method.name = "supervised";
  c.data.split = "unlabeled";
  ImageDataset data;
  data.name = "stl10";
  data.images = torch::zeros({4, 3, 8, 8}, torch::kUInt8);
  data.labels = torch::full({4}, -1, torch::kInt64);
  data.num_classes = 10;
  const std::string e = relnet::testing::error_of([&] {
    make_method({&c, &data, Normalization{}, torch::kCPU, make_backbone("conv4")});
  });
  EXPECT_NE(e.find("\"supervised\" needs labels"), std::string::npos) << e;
  EXPECT_NE(e.find("data.split=train"), std::string::npos) << e;
  EXPECT_EQ(e.find('\n'), std::string::npos) << e;
}

TEST(MethodTest, DeepClusterNeedsClustersOnUnlabeledData) {
  Config c;
  c.method.name = "deepcluster";
  ImageDataset data;
  data.name = "photos";
  data.images = torch::zeros({40, 3, 8, 8}, torch::kUInt8);
  data.labels = torch::full({40}, -1, torch::kInt64);
  const std::string e = relnet::testing::error_of([&] {
    make_method({&c, &data, Normalization{}, torch::kCPU, make_backbone("conv4")});
  });
  EXPECT_NE(e.find("set method.clusters"), std::string::npos) << e;
  c.method.clusters = 41;
  EXPECT_NE(relnet::testing::error_of([&] {
              make_method({&c, &data, Normalization{}, torch::kCPU, make_backbone("conv4")});
            }).find("method.clusters (41) must not exceed the training images (40)"),
            std::string::npos);
}

TEST(MethodTest, ConfigNamesABadMethodKeyOrName) {
  EXPECT_NE(relnet::testing::error_of([] {
              config_from_json(nlohmann::json{{"method", {{"temprature", 0.5}}}});
            }).find("unknown key 'temprature' in method"),
            std::string::npos);
  EXPECT_NE(relnet::testing::error_of([] {
              config_from_json(nlohmann::json{{"method", {{"name", "byol"}}}});
            }).find("method.name must be one of relational | simclr"),
            std::string::npos);
  const Config c = config_from_json(nlohmann::json::object());
  EXPECT_EQ(c.method.name, "relational");  // every existing config keeps its meaning
}

TEST(MethodTest, SupervisedScheduleFollowsTheReference) {
  // The reference multiplies by 0.1 when epoch == int(E * 0.5) or int(E * 0.75).
  EXPECT_DOUBLE_EQ(supervised_lr(0.1, 0, 200), 0.1);
  EXPECT_DOUBLE_EQ(supervised_lr(0.1, 99, 200), 0.1);
  EXPECT_NEAR(supervised_lr(0.1, 100, 200), 0.01, 1e-15);
  EXPECT_NEAR(supervised_lr(0.1, 150, 200), 0.001, 1e-15);
  EXPECT_NEAR(supervised_lr(0.1, 0, 1), 0.01, 1e-15);  // both milestones are epoch 0: once
}

TEST(MethodTest, DefaultLearningRatesAreTheReferences) {
  ImageDataset data;
  data.name = "fixed";
  data.images = torch::zeros({40, 3, 8, 8}, torch::kUInt8);
  data.labels = torch::arange(40) % 4;
  data.num_classes = 4;
  for (const auto& [name, lr] : std::vector<std::pair<std::string, double>>{{"relational", 1e-3},
                                                                            {"simclr", 1e-3},
                                                                            {"deepcluster", 1e-3},
                                                                            {"infomax", 1e-4},
                                                                            {"rotation", 1e-3},
                                                                            {"supervised", 0.1}}) {
    Config c;
    c.method.name = name;
    const auto method =
        make_method({&c, &data, Normalization{}, torch::kCPU, make_backbone("conv4")});
    EXPECT_DOUBLE_EQ(effective_lr(c, *method), lr) << name;
    c.train.lr = 0.5;
    EXPECT_DOUBLE_EQ(effective_lr(c, *method), 0.5) << name;
  }
}

}  // namespace
}  // namespace relnet
