// The evaluation helpers shared by linear-eval, knn and retrieval.
#include "relnet/eval/features.h"

#include <gtest/gtest.h>

#include "test_util.h"

namespace relnet {
namespace {

TEST(EvalFeaturesTest, OutputPathSitsNextToTheCheckpoint) {
  EXPECT_EQ(eval_output_path("", "runs/x/backbone.pt", "knn.json", false), "runs/x/knn.json");
  EXPECT_EQ(eval_output_path("", "runs/x/backbone.pt", "knn.json", true),
            "runs/x/knn_random_init.json");
  EXPECT_EQ(eval_output_path("out.json", "runs/x/backbone.pt", "knn.json", true), "out.json");
}

}  // namespace
}  // namespace relnet
