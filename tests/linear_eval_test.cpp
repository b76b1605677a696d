#include "relnet/eval/linear_eval.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "relnet/models/conv4.h"
#include "relnet/train/checkpoint.h"
#include "relnet/train/trainer.h"
#include "test_util.h"

namespace relnet {
namespace {

using relnet::testing::TempDir;

TEST(LinearEvalTest, ClassifierLearnsLinearlySeparableFeatures) {
  torch::manual_seed(0);
  const int64_t n = 600, classes = 3;
  const auto labels = torch::arange(n) % classes;
  const auto centers = torch::randn({classes, 16}) * 3;
  const auto features = centers.index_select(0, labels) + torch::randn({n, 16}) * 0.5;
  auto clf = train_linear_classifier(features, labels, classes, 20, 32, 1e-2, 1, torch::kCPU);
  EXPECT_GT(classifier_accuracy(clf, features, labels, torch::kCPU), 0.97);
}

TEST(LinearEvalTest, FeaturesAreComputedInEvalModeWithoutGradients) {
  Conv4 net;
  net->train();
  const auto images = torch::randint(0, 256, {10, 3, 16, 16}, torch::kUInt8);
  const auto f = extract_features(*net, images, Normalization{}, torch::kCPU, 4);
  EXPECT_EQ(f.sizes(), (std::vector<int64_t>{10, 64}));
  EXPECT_FALSE(f.requires_grad());
  EXPECT_FALSE(net->is_training());
  // Batching does not change the result (eval-mode BN uses running stats).
  EXPECT_TRUE(torch::allclose(f, extract_features(*net, images, Normalization{}, torch::kCPU, 10)));
}

TEST(LinearEvalTest, EvaluatesATrainedCheckpointAndWritesResults) {
  TempDir dir("linear");
  std::filesystem::create_directories(dir / "data");
  relnet::testing::write_tiny_mnist(dir / "data", 96, 40, 16);
  train(relnet::testing::tiny_mnist_config(dir / "data", dir / "run"), false);

  LinearEvalOptions opt;
  opt.checkpoint = dir / "run/backbone.pt";
  opt.epochs = 5;
  opt.device = "cpu";
  const LinearEvalResult r = linear_eval(opt);
  EXPECT_EQ(r.out_path, dir / "run/linear_eval.json");
  ASSERT_TRUE(std::filesystem::exists(r.out_path));
  const auto report = nlohmann::json::parse(std::ifstream(r.out_path));
  EXPECT_EQ(report["dataset"], "mnist");
  EXPECT_EQ(report["train_images"], 96);
  EXPECT_EQ(report["test_images"], 40);
  EXPECT_GE(report["test_accuracy"].get<double>(), 0.0);
  EXPECT_LE(report["test_accuracy"].get<double>(), 1.0);
  EXPECT_DOUBLE_EQ(report["test_accuracy"].get<double>(), r.test_accuracy);

  opt.random_init = true;
  EXPECT_EQ(linear_eval(opt).out_path, dir / "run/linear_eval_random_init.json");
}

TEST(LinearEvalTest, RejectsACheckpointWithoutMeta) {
  TempDir dir("nometa");
  Conv4 net;
  save_checkpoint(dir / "b.pt", Checkpoint{state_dict(*net), {}, std::nullopt, {}, {}});
  LinearEvalOptions opt;
  opt.checkpoint = dir / "b.pt";
  try {
    linear_eval(opt);
    FAIL();
  } catch (const std::runtime_error& e) {
    EXPECT_EQ(
        std::string(e.what()),
        "checkpoint '" + dir / "b.pt" +
            "' has no relnet metadata naming its backbone (saved by PyTorch?): pass --backbone "
            "NAME (conv4, resnet8, resnet32, resnet56, resnet18, resnet34) and --dataset");
  }
}

}  // namespace
}  // namespace relnet
