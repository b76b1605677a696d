// Top-k, per-class and mean per-class accuracy on hand-made scores.
#include "relnet/eval/classification.h"

#include <gtest/gtest.h>

#include "test_util.h"

namespace relnet {
namespace {

// Five rows over seven classes, worked by hand:
//   row 0: label 4, scores fall from class 0 -> top-1 0 (miss), top-5 {0..4} (hit)
//   row 1: label 0, scores rise to class 6   -> top-1 6 (miss), top-5 {6..2} (miss)
//   row 2: label 2, class 2 far ahead         -> hit, hit
//   row 3: label 5, scores rise to class 6   -> top-1 6 (miss), top-5 {6..2} (hit)
//   row 4: label 2, class 2 ahead             -> hit, hit
// top-1 2/5, top-5 4/5; per class: 0 -> 0/1, 2 -> 2/2, 4 -> 0/1, 5 -> 0/1, mean 1/4.
torch::Tensor worked_scores() {
  return torch::tensor({{0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3},
                        {0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7},
                        {0.0, 0.0, 9.0, 0.0, 1.0, 0.0, 0.0},
                        {1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0},
                        {0.0, 1.0, 2.0, 0.0, 0.0, 0.0, 0.0}},
                       torch::kFloat);
}
torch::Tensor worked_labels() { return torch::tensor({4, 0, 2, 5, 2}, torch::kInt64); }

TEST(ClassificationTest, TopKAccuracyOnWorkedScores) {
  EXPECT_DOUBLE_EQ(topk_accuracy(worked_scores(), worked_labels(), 1), 2.0 / 5);
  EXPECT_DOUBLE_EQ(topk_accuracy(worked_scores(), worked_labels(), 5), 4.0 / 5);
  EXPECT_DOUBLE_EQ(topk_accuracy(worked_scores(), worked_labels(), 7), 1.0);
  EXPECT_DOUBLE_EQ(topk_accuracy(worked_scores(), worked_labels(), 50), 1.0);  // clamped to C
  EXPECT_DOUBLE_EQ(topk_accuracy(torch::zeros({0, 7}), torch::zeros({0}, torch::kInt64), 5), 0.0);
}

TEST(ClassificationTest, ReportHasTopFiveAndMeanPerClass) {
  const auto r = classification_report(worked_scores(), worked_labels(), 7,
                                       {"a", "b", "c", "d", "e", "f", "g"});
  EXPECT_DOUBLE_EQ(r["test_accuracy"].get<double>(), 2.0 / 5);
  EXPECT_DOUBLE_EQ(r["test_top5_accuracy"].get<double>(), 4.0 / 5);
  EXPECT_DOUBLE_EQ(r["mean_per_class_accuracy"].get<double>(), 1.0 / 4);
  EXPECT_EQ(r["per_class_accuracy"][2]["class"], "c");
  EXPECT_DOUBLE_EQ(r["per_class_accuracy"][2]["accuracy"].get<double>(), 1.0);
  EXPECT_EQ(r["confusion_matrix"][1][6], 0);  // class 1 has no image
  EXPECT_EQ(r["confusion_matrix"][5][6], 1);
  EXPECT_EQ(accuracy_summary(r), "test accuracy 0.4000, top-5 0.8000, mean per-class 0.2500");
}

TEST(ClassificationTest, NoTopFiveWithFiveClassesOrFewer) {
  const auto scores = torch::tensor({{0.1, 0.9, 0.0, 0.0, 0.0}, {0.8, 0.1, 0.0, 0.0, 0.1}});
  const auto r =
      classification_report(scores, torch::tensor({1, 1}, torch::kInt64), 5, {}, "train");
  EXPECT_DOUBLE_EQ(r["train_accuracy"].get<double>(), 0.5);
  EXPECT_FALSE(r.contains("train_top5_accuracy"));
  EXPECT_EQ(accuracy_summary(r, "train"), "train accuracy 0.5000, mean per-class 0.5000");
}

TEST(ClassificationTest, PerClassReportCountsTheConfusionMatrix) {
  const auto labels = torch::tensor({0, 0, 1, 1, 1, 2}, torch::kInt64);
  const auto predicted = torch::tensor({0, 1, 1, 1, 2, 2}, torch::kInt64);
  const auto r = per_class_report(predicted, labels, 4, {"a", "b", "c", "d"});
  EXPECT_EQ(r["confusion_matrix"],
            nlohmann::json::parse("[[1,1,0,0],[0,2,1,0],[0,0,1,0],[0,0,0,0]]"));
  EXPECT_EQ(r["per_class_accuracy"][0]["class"], "a");
  EXPECT_DOUBLE_EQ(r["per_class_accuracy"][0]["accuracy"].get<double>(), 0.5);
  EXPECT_DOUBLE_EQ(r["per_class_accuracy"][1]["accuracy"].get<double>(), 2.0 / 3);
  EXPECT_EQ(r["per_class_accuracy"][3]["images"], 0);
  EXPECT_DOUBLE_EQ(r["per_class_accuracy"][3]["accuracy"].get<double>(), 0.0);
  // Class 3 has no image: the mean is over classes 0-2.
  EXPECT_DOUBLE_EQ(r["mean_per_class_accuracy"].get<double>(), (0.5 + 2.0 / 3 + 1.0) / 3);
  EXPECT_EQ(relnet::testing::error_of([&] { per_class_report(predicted, labels, 2, {}); }),
            "per_class_report: label or prediction out of range [0, 2) at row 4");
}

TEST(ClassificationTest, BadShapesAndKAreRefused) {
  EXPECT_EQ(relnet::testing::error_of([] { topk_accuracy(worked_scores(), worked_labels(), 0); }),
            "topk_accuracy: k must be >= 1, got 0");
  EXPECT_EQ(relnet::testing::error_of(
                [] { topk_accuracy(worked_scores(), torch::zeros({3}, torch::kInt64), 1); }),
            "topk_accuracy: scores must be (N, C) and labels (N), got [5, 7] and [3]");
}

}  // namespace
}  // namespace relnet
