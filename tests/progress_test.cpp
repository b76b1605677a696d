// The live bar's text (where the bar and periodic lines go is in
// logging_test.cpp).
#include "relnet/util/progress.h"

#include <gtest/gtest.h>

namespace relnet {
namespace {

TEST(ProgressTest, LineShowsBarCountsFiguresAndEta) {
  EXPECT_EQ(format_progress_line("epoch 1/3", 5, 10, "loss 0.5", 75, 10, 200),
            "epoch 1/3 [#####-----] 5/10 | loss 0.5 | ETA 1m15s");
  EXPECT_EQ(format_progress_line("", 20, 10, "", -1, 4, 200), "[####] 10/10");  // clamped
  EXPECT_EQ(format_progress_line("x", 0, 10, "", -1, 4, 200), "x [----] 0/10");
  EXPECT_EQ(format_progress_line("epoch 1/3", 5, 10, "loss 0.5", 75, 10, 12).size(), 11u);
}

}  // namespace
}  // namespace relnet
