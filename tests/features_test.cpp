// The evaluation helpers shared by linear-eval, knn and retrieval.
#include "relnet/eval/features.h"

#include <gtest/gtest.h>

#include "test_util.h"

namespace relnet {
namespace {

TEST(EvalFeaturesTest, PerClassReportCountsTheConfusionMatrix) {
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
  EXPECT_EQ(relnet::testing::error_of([&] { per_class_report(predicted, labels, 2, {}); }),
            "per_class_report: label or prediction out of range [0, 2) at row 4");
}

TEST(EvalFeaturesTest, OutputPathSitsNextToTheCheckpoint) {
  EXPECT_EQ(eval_output_path("", "runs/x/backbone.pt", "knn.json", false), "runs/x/knn.json");
  EXPECT_EQ(eval_output_path("", "runs/x/backbone.pt", "knn.json", true),
            "runs/x/knn_random_init.json");
  EXPECT_EQ(eval_output_path("out.json", "runs/x/backbone.pt", "knn.json", true), "out.json");
}

}  // namespace
}  // namespace relnet
