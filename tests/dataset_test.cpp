// Tests of the dataset registry (names, splits, normalizations), resizing,
// and the `data info` report.
#include "relnet/data/dataset.h"

#include <gtest/gtest.h>

#include "relnet/data/info.h"
#include "test_util.h"

namespace relnet {
namespace {

using relnet::testing::error_of;
using relnet::testing::TempDir;

TEST(DatasetRegistryTest, KnowsEveryDatasetOfThePaperAndRejectsOthers) {
  EXPECT_EQ(known_datasets(), (std::vector<std::string>{"cifar10", "cifar100", "supercifar100", "stl10",
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

TEST(DatasetInfoTest, MeasuresStatsAndReportsBrokenSplits) {
  const torch::Tensor images = torch::randint(0, 256, {50, 3, 8, 8}, torch::kUInt8);
  const auto [mean, std] = channel_stats(images);
  const torch::Tensor f = images.to(torch::kFloat64).div(255).transpose(0, 1).reshape({3, -1});
  for (int c = 0; c < 3; ++c) {
    EXPECT_NEAR(mean[c], f[c].mean().item<double>(), 1e-9);
    EXPECT_NEAR(std[c], f[c].std(false).item<double>(), 1e-9);
  }

  TempDir dir("info");
  relnet::testing::write_tiny_mnist(dir.str(), 30, 10);
  auto info = dataset_info("mnist", dir.str());
  EXPECT_TRUE(info["intact"].get<bool>());
  EXPECT_EQ(info["splits"]["train"]["images"], 30);
  EXPECT_EQ(info["splits"]["test"]["images"], 10);
  EXPECT_EQ(info["splits"]["train"]["per_class"], std::vector<int64_t>(10, 3));
  EXPECT_EQ(info["measured"]["split"], "train");
  const std::string text = format_dataset_info(info);
  EXPECT_NE(text.find("train           30 images, 16x16, 10 classes (3..3 per class)"), std::string::npos)
      << text;
  EXPECT_NE(text.find("files intact: yes"), std::string::npos) << text;

  std::filesystem::remove(dir / "t10k-labels-idx1-ubyte.gz");
  info = dataset_info("mnist", dir.str());
  EXPECT_FALSE(info["intact"].get<bool>());
  EXPECT_NE(info["splits"]["test"]["error"].get<std::string>().find("IDX file missing"),
            std::string::npos);
  EXPECT_NE(format_dataset_info(info).find("files intact: NO"), std::string::npos);
}

}  // namespace
}  // namespace relnet
