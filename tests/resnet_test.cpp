// ResNet backbones: parameter counts, state-dict keys in torchvision's order,
// feature shapes, reference init, and construction through the factory.
#include "relnet/models/resnet.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

#include "relnet/models/backbone.h"
#include "relnet/train/checkpoint.h"

namespace relnet {
namespace {

struct CountCase {
  const char* name;
  int64_t parameters;
  int64_t keys;  // state-dict entries (parameters and BN buffers)
  int64_t feature_size;
};

const CountCase kCases[] = {{"resnet8", 77392, 54, 64},
                            {"resnet32", 466256, 198, 64},
                            {"resnet56", 855120, 342, 64},
                            {"resnet18", 11176512, 120, 512},
                            {"resnet34", 21284672, 216, 512}};

TEST(ResnetTest, HasTheReferenceParameterCounts) {
  for (const auto& c : kCases) {
    ResNet net(resnet_spec(c.name));
    EXPECT_EQ(count_parameters(*net), c.parameters) << c.name;
    EXPECT_EQ(static_cast<int64_t>(state_dict(*net).size()), c.keys) << c.name;
    EXPECT_EQ(net->feature_size(), c.feature_size) << c.name;
    EXPECT_EQ(net->name(), c.name);
  }
}

TEST(ResnetTest, CifarStateDictKeysFollowTheReferenceOrder) {
  ResNet net(resnet_spec("resnet8"));
  const StateDict dict = state_dict(*net);
  const std::vector<std::string> bn = {"weight", "bias", "running_mean", "running_var",
                                       "num_batches_tracked"};
  std::vector<std::string> expected = {"conv1.weight"};
  for (const auto& k : bn) expected.push_back("bn1." + k);
  for (int s = 1; s <= 3; ++s) {
    const std::string p = "layer" + std::to_string(s) + ".0.";
    expected.push_back(p + "conv1.weight");
    for (const auto& k : bn) expected.push_back(p + "bn1." + k);
    expected.push_back(p + "conv2.weight");
    for (const auto& k : bn) expected.push_back(p + "bn2." + k);
    if (s > 1) {
      expected.push_back(p + "downsample.0.weight");
      for (const auto& k : bn) expected.push_back(p + "downsample.1." + k);
    }
  }
  ASSERT_EQ(dict.size(), expected.size());
  for (size_t i = 0; i < dict.size(); ++i) EXPECT_EQ(dict[i].first, expected[i]) << i;
  // layer2.0: conv1 (32, 16, 3, 3) with stride 2, shortcut conv (32, 16, 1, 1).
  const auto find = [&](const std::string& key) {
    for (const auto& [k, t] : dict)
      if (k == key) return t;
    ADD_FAILURE() << "no key " << key;
    return torch::Tensor();
  };
  EXPECT_EQ(find("layer2.0.conv1.weight").sizes(), (std::vector<int64_t>{32, 16, 3, 3}));
  EXPECT_EQ(find("layer2.0.downsample.0.weight").sizes(), (std::vector<int64_t>{32, 16, 1, 1}));
  EXPECT_EQ(find("layer3.0.downsample.1.running_var").sizes(), (std::vector<int64_t>{64}));
}

TEST(ResnetTest, ImagenetStateDictKeysAreTorchvisionsWithoutFc) {
  ResNet net(resnet_spec("resnet34"));
  const StateDict dict = state_dict(*net);
  ASSERT_EQ(dict.size(), 216u);
  // (index, key, shape) spot checks; full equality with torchvision is in
  // BackboneParityTest.
  const struct {
    size_t index;
    const char* key;
    std::vector<int64_t> shape;
  } spots[] = {{0, "conv1.weight", {64, 3, 7, 7}},
               {5, "bn1.num_batches_tracked", {}},
               {6, "layer1.0.conv1.weight", {64, 64, 3, 3}},
               {12, "layer1.0.conv2.weight", {64, 64, 3, 3}},
               {6 + 3 * 12, "layer2.0.conv1.weight", {128, 64, 3, 3}},
               {6 + 3 * 12 + 12, "layer2.0.downsample.0.weight", {128, 64, 1, 1}},
               {6 + 3 * 12 + 13, "layer2.0.downsample.1.weight", {128}},
               {215, "layer4.2.bn2.num_batches_tracked", {}}};
  for (const auto& s : spots) {
    EXPECT_EQ(dict[s.index].first, s.key) << s.index;
    EXPECT_EQ(dict[s.index].second.sizes(), s.shape) << s.key;
  }
  for (const auto& [key, tensor] : dict) EXPECT_EQ(key.rfind("fc.", 0), std::string::npos) << key;
}

TEST(ResnetTest, MapsImagesToFeatures) {
  for (const char* name : {"resnet8", "resnet32", "resnet56"}) {
    ResNet net(resnet_spec(name));
    EXPECT_EQ(net->forward(torch::randn({3, 3, 32, 32})).sizes(), (std::vector<int64_t>{3, 64}))
        << name;
  }
  for (const char* name : {"resnet18", "resnet34"}) {
    ResNet net(resnet_spec(name));
    EXPECT_EQ(net->forward(torch::randn({2, 3, 64, 64})).sizes(), (std::vector<int64_t>{2, 512}))
        << name;
  }
}

TEST(ResnetTest, InitialisesAsTheReference) {
  torch::manual_seed(0);
  ResNet net(resnet_spec("resnet32"));
  for (const auto& [key, t] : state_dict(*net)) {
    if (t.dim() == 4) {
      // N(0, sqrt(2 / (k*k*out_channels))); small tensors give noisy estimates.
      const double expected =
          std::sqrt(2.0 / static_cast<double>(t.size(0) * t.size(2) * t.size(3)));
      if (t.numel() < 9216) continue;
      EXPECT_NEAR(t.std().item<double>(), expected, 0.05 * expected) << key;
      EXPECT_NEAR(t.mean().item<double>(), 0.0, 0.05 * expected) << key;
    } else if (key.size() > 7 && key.compare(key.size() - 7, 7, ".weight") == 0) {
      EXPECT_TRUE(torch::all(t == 1).item<bool>()) << key;
    } else if (key.size() > 5 && key.compare(key.size() - 5, 5, ".bias") == 0) {
      EXPECT_TRUE(torch::all(t == 0).item<bool>()) << key;
    }
  }
}

TEST(ResnetTest, RejectsUnknownSpecName) {
  EXPECT_THROW(resnet_spec("resnet50"), std::invalid_argument);
}

TEST(BackboneFactoryTest, BuildsEveryResnetByName) {
  for (const auto& c : kCases) {
    const Backbone net = make_backbone(c.name);
    EXPECT_EQ(net->name(), c.name);
    EXPECT_EQ(net->feature_size(), c.feature_size) << c.name;
    EXPECT_EQ(count_parameters(*net), c.parameters) << c.name;
  }
  const auto& known = known_backbones();
  for (const char* name : {"conv4", "resnet8", "resnet32", "resnet56", "resnet18", "resnet34"}) {
    EXPECT_NE(std::find(known.begin(), known.end(), name), known.end()) << name;
  }
}

}  // namespace
}  // namespace relnet
