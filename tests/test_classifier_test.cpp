// linear.pt from linear-eval, evaluated again by relnet test; fine-tuning.
#include "relnet/eval/test_classifier.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "relnet/eval/finetune.h"
#include "relnet/eval/linear_eval.h"
#include "relnet/train/checkpoint.h"
#include "relnet/train/inspect.h"
#include "relnet/train/trainer.h"
#include "test_util.h"

namespace relnet {
namespace {

using relnet::testing::error_of;
using relnet::testing::TempDir;

// A one-epoch run on tiny MNIST; returns its backbone.pt.
std::string trained_backbone(const TempDir& dir) {
  std::filesystem::create_directories(dir / "data");
  relnet::testing::write_tiny_mnist(dir / "data", 96, 40, 16);
  const Config c = relnet::testing::tiny_mnist_config(dir / "data", dir / "run");
  train(c, false);
  return dir / "run/backbone.pt";
}

TEST(TestClassifierTest, ReproducesTheLinearEvaluationsTestAccuracy) {
  TempDir dir("testcls");
  LinearEvalOptions le;
  le.checkpoint = trained_backbone(dir);
  le.epochs = 5;
  le.device = "cpu";
  const LinearEvalResult lin = linear_eval(le);
  EXPECT_EQ(lin.classifier_path, dir / "run/linear.pt");
  const Checkpoint saved = load_checkpoint(lin.classifier_path);
  ASSERT_EQ(saved.classifier.size(), 2u);
  EXPECT_EQ(saved.classifier[0].first, "weight");
  EXPECT_EQ(saved.classifier[0].second.sizes(), (std::vector<int64_t>{10, 64}));
  EXPECT_EQ(saved.meta["linear_eval"]["classes"], 10);
  EXPECT_EQ(lin.report["confusion_matrix"].size(), 10u);

  TestOptions t;
  t.checkpoint = lin.classifier_path;
  t.device = "cpu";
  const TestResult r = test_classifier(t);
  EXPECT_DOUBLE_EQ(r.test_accuracy, lin.test_accuracy);
  EXPECT_EQ(r.out_path, dir / "run/test.json");
  EXPECT_EQ(r.report["per_class_accuracy"].size(), 10u);
  EXPECT_EQ(inspect_checkpoint(lin.classifier_path)["kind"], "linear classifier (linear.pt)");
}

TEST(TestClassifierTest, ABackboneFileHasNoClassifier) {
  TempDir dir("testcls_none");
  TestOptions t;
  t.checkpoint = trained_backbone(dir);
  t.device = "cpu";
  EXPECT_EQ(
      error_of([&] { test_classifier(t); }),
      "checkpoint '" + t.checkpoint +
          "' holds no classifier: relnet test takes the linear.pt written by relnet linear-eval "
          "(for a backbone.pt, run linear-eval)");
}

TEST(FinetuneTest, FlipAndShiftMovesPixelsAndKeepsFlatImagesFlat) {
  Rng rng(3);
  const auto flat = torch::full({4, 3, 10, 10}, 0.25f);
  EXPECT_TRUE(torch::equal(flip_and_shift(flat, 0.2, rng), flat));
  // Without shifts each image is itself or its mirror image.
  const auto images = torch::rand({32, 3, 6, 6});
  const auto out = flip_and_shift(images, 0.0, rng);
  int flipped = 0;
  for (int64_t i = 0; i < 32; ++i) {
    const bool same = torch::equal(out[i], images[i]);
    const bool mirror = torch::equal(out[i], images[i].flip({2}));
    EXPECT_TRUE(same || mirror) << "image " << i;
    flipped += mirror ? 1 : 0;
  }
  EXPECT_GT(flipped, 4);
  EXPECT_LT(flipped, 28);
  // A shifted image holds the original's pixels, moved.
  const auto ramp =
      torch::arange(100, torch::kFloat).view({1, 1, 10, 10}).expand({1, 3, 10, 10}).contiguous();
  Rng again(5);
  const auto moved = flip_and_shift(ramp, 0.2, again);
  EXPECT_EQ(moved.sizes(), ramp.sizes());
  EXPECT_GE(moved.min().item<float>(), 0.f);
  EXPECT_LE(moved.max().item<float>(), 99.f);
}

TEST(FinetuneTest, TrainsBackboneAndClassifierAndSavesAFileForTest) {
  TempDir dir("finetune");
  FinetuneOptions f;
  f.checkpoint = trained_backbone(dir);
  f.epochs = 3;
  f.batch_size = 32;
  f.device = "cpu";
  const Checkpoint before = load_checkpoint(f.checkpoint);
  const FinetuneResult r = finetune(f);
  EXPECT_EQ(r.out_path, dir / "run/finetune.json");
  EXPECT_GE(r.test_accuracy, 0.0);
  const Checkpoint after = load_checkpoint(r.classifier_path);
  // The backbone moved (it is trained, unlike in linear evaluation).
  bool changed = false;
  for (size_t i = 0; i < before.backbone.size(); ++i) {
    changed = changed || !torch::equal(before.backbone[i].second, after.backbone[i].second);
  }
  EXPECT_TRUE(changed);
  EXPECT_EQ(after.meta["linear_eval"]["finetuned"], true);
  TestOptions t;
  t.checkpoint = r.classifier_path;
  t.device = "cpu";
  EXPECT_DOUBLE_EQ(test_classifier(t).test_accuracy, r.test_accuracy);
  EXPECT_EQ(error_of([&] {
              FinetuneOptions bad = f;
              bad.max_shift = 0.7;
              finetune(bad);
            }),
            "--max-shift must be in [0, 0.5), got 0.700000");
  EXPECT_EQ(error_of([&] {
              FinetuneOptions bad = f;
              bad.batch_size = 1;
              finetune(bad);
            }),
            "--batch-size must be >= 2 (BatchNorm in training mode), got 1");
}

}  // namespace
}  // namespace relnet
