#include "relnet/models/conv4.h"

#include <gtest/gtest.h>

#include "relnet/models/backbone.h"
#include "relnet/train/checkpoint.h"

namespace relnet {
namespace {

TEST(Conv4Test, HasTheReferenceParameterCount) {
  Conv4 net;
  EXPECT_EQ(count_parameters(*net), 24648);
  EXPECT_EQ(net->feature_size(), 64);
}

TEST(Conv4Test, StateDictKeysAndShapesMatchTheReference) {
  Conv4 net;
  const StateDict dict = state_dict(*net);
  std::vector<std::string> expected;
  const int64_t channels[] = {3, 8, 16, 32, 64};
  for (int l = 1; l <= 4; ++l) {
    const std::string p = "layer" + std::to_string(l) + ".";
    for (const char* k : {"conv.weight", "bn.weight", "bn.bias", "bn.running_mean",
                          "bn.running_var", "bn.num_batches_tracked"}) {
      expected.push_back(p + k);
    }
  }
  ASSERT_EQ(dict.size(), expected.size());
  for (size_t i = 0; i < dict.size(); ++i) EXPECT_EQ(dict[i].first, expected[i]) << i;
  for (int l = 1; l <= 4; ++l) {
    EXPECT_EQ(dict[(l - 1) * 6].second.sizes(),
              (std::vector<int64_t>{channels[l], channels[l - 1], 3, 3}));
    EXPECT_EQ(dict[(l - 1) * 6 + 1].second.sizes(), (std::vector<int64_t>{channels[l]}));
  }
}

TEST(Conv4Test, MapsImagesOfAnySideToFeatures) {
  Conv4 net;
  for (int64_t side : {28, 32, 64}) {
    const auto out = net->forward(torch::randn({5, 3, side, side}));
    EXPECT_EQ(out.sizes(), (std::vector<int64_t>{5, 64})) << side;
  }
}

TEST(Conv4Test, InitialisesAsTheReference) {
  torch::manual_seed(0);
  Conv4 net;
  const StateDict dict = state_dict(*net);
  // layer4.conv.weight ~ N(0, sqrt(2 / (3*3*64))) with 18,432 draws.
  const auto w = dict[18].second;
  ASSERT_EQ(dict[18].first, "layer4.conv.weight");
  EXPECT_NEAR(w.std().item<double>(), std::sqrt(2.0 / (9 * 64)), 0.002);
  EXPECT_NEAR(w.mean().item<double>(), 0.0, 0.002);
  EXPECT_TRUE(torch::all(dict[19].second == 1).item<bool>());  // bn.weight
  EXPECT_TRUE(torch::all(dict[20].second == 0).item<bool>());  // bn.bias
}

TEST(BackboneFactoryTest, BuildsByNameAndRejectsUnknown) {
  EXPECT_EQ(make_backbone("conv4")->name(), "conv4");
  try {
    make_backbone("resnet9000");
    FAIL();
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("unknown backbone 'resnet9000'"), std::string::npos);
  }
}

}  // namespace
}  // namespace relnet
