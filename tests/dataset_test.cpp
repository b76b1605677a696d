// Tests of the dataset registry (names, splits, normalizations) and
// resizing (the `data info` report is in info_test.cpp).
#include "relnet/data/dataset.h"

#include <gtest/gtest.h>

#include "test_util.h"

namespace relnet {
namespace {

using relnet::testing::error_of;
using relnet::testing::TempDir;

TEST(DatasetRegistryTest, KnowsEveryDatasetOfThePaperAndRejectsOthers) {
  EXPECT_EQ(known_datasets(),
            (std::vector<std::string>{"cifar10", "cifar100", "supercifar100", "stl10",
                                      "image_folder", "fashion_mnist", "mnist", "packed"}));
  EXPECT_THROW(load_dataset("imagenet", "data", Split::kTrain), std::invalid_argument);
  EXPECT_EQ(error_of([] { load_dataset("imagenet", "data", Split::kTrain); }),
            "unknown dataset 'imagenet' (known: cifar10, cifar100, supercifar100, stl10, "
            "image_folder, fashion_mnist, mnist, packed)");
  EXPECT_THROW(load_dataset("cifar10", "data", Split::kTrain, -1), std::invalid_argument);
  EXPECT_EQ(error_of([] { load_dataset("mnist", "data", Split::kUnlabeled); }),
            "mnist has no unlabeled split (splits: train, test)");
}

TEST(DatasetRegistryTest, NormalizationsFollowTheReference) {
  EXPECT_FLOAT_EQ(default_normalization("cifar100").mean[0], 0.507f);
  EXPECT_FLOAT_EQ(default_normalization("supercifar100").std[2], 0.276f);
  EXPECT_FLOAT_EQ(default_normalization("stl10").std[1], 0.5f);
  EXPECT_FLOAT_EQ(default_normalization("image_folder").std[0], 0.25f);
  EXPECT_EQ(dataset_spec("stl10").side, 96);
  EXPECT_EQ(dataset_spec("supercifar100").num_classes, 20);
}

TEST(DatasetRegistryTest, SplitNamesRoundTrip) {
  for (const Split s : {Split::kTrain, Split::kTest, Split::kUnlabeled}) {
    EXPECT_EQ(parse_split(to_string(s)), s);
  }
  EXPECT_EQ(error_of([] { parse_split("validation"); }),
            "unknown split 'validation' (known: train, test, unlabeled)");
}

TEST(ResizeTest, ResizesEveryPlaneAndKeepsFlatColours) {
  torch::Tensor images = torch::zeros({2, 3, 28, 28}, torch::kUInt8);
  images[0][0].fill_(200);
  images[1][2].fill_(90);
  const torch::Tensor up = resize_images(images, 32);
  ASSERT_EQ(up.sizes(), (std::vector<int64_t>{2, 3, 32, 32}));
  EXPECT_TRUE(up[0][0].eq(200).all().item<bool>());
  EXPECT_TRUE(up[0][1].eq(0).all().item<bool>());
  EXPECT_TRUE(up[1][2].eq(90).all().item<bool>());
  const torch::Tensor down = resize_images(up, 8);
  EXPECT_TRUE(down[1][2].eq(90).all().item<bool>());
  // A left-half-bright image stays left-half bright: no transposition.
  torch::Tensor half = torch::zeros({1, 3, 16, 16}, torch::kUInt8);
  half.slice(3, 0, 8).fill_(255);
  const torch::Tensor h = resize_images(half, 8);
  EXPECT_TRUE(h.slice(3, 0, 4).eq(255).all().item<bool>());
  EXPECT_TRUE(h.slice(3, 4, 8).eq(0).all().item<bool>());
  EXPECT_TRUE(resize_images(images, 28).is_same(images));
}

TEST(ResizeTest, LoadDatasetResizesOnRequest) {
  TempDir dir("resize");
  relnet::testing::write_tiny_mnist(dir.str(), 20, 10);
  EXPECT_EQ(load_dataset("mnist", dir.str(), Split::kTrain).side(), 16);
  EXPECT_EQ(load_dataset("mnist", dir.str(), Split::kTrain, 5, 32).side(), 32);
}

}  // namespace
}  // namespace relnet
