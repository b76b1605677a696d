// Tests of `relnet data info`'s reports: measured channel statistics, a
// broken split, the datasets `relnet info` finds in a root, and a pack's
// report as text.
#include "relnet/data/info.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "relnet/data/dataset.h"
#include "relnet/data/packed.h"
#include "test_util.h"

namespace relnet {
namespace {

using relnet::testing::TempDir;

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
  EXPECT_NE(text.find("train           30 images, 16x16, 10 classes (3..3 per class)"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("files intact: yes"), std::string::npos) << text;

  std::filesystem::remove(dir / "t10k-labels-idx1-ubyte.gz");
  info = dataset_info("mnist", dir.str());
  EXPECT_FALSE(info["intact"].get<bool>());
  EXPECT_NE(info["splits"]["test"]["error"].get<std::string>().find("IDX file missing"),
            std::string::npos);
  EXPECT_NE(format_dataset_info(info).find("files intact: NO"), std::string::npos);
}

TEST(DatasetInfoTest, FindsAPackAsOnePackedDataset) {
  relnet::testing::TempDir dir("info_pack");
  std::filesystem::create_directories(dir / "mnist");
  relnet::testing::write_tiny_mnist(dir / "mnist", 32, 16);
  PackOptions o;
  o.dataset = "mnist";
  o.root = dir / "mnist";
  o.out = dir / "pack";
  o.splits = {Split::kTrain};
  pack_dataset(o);
  const auto found = datasets_found(dir / "pack");
  EXPECT_EQ(
      found["found"],
      nlohmann::json::parse(R"([{"dataset": "packed", "source": "mnist", "splits": ["train"]}])"))
      << found.dump();
}

TEST(DatasetInfoTest, FormatsAPackReport) {
  TempDir dir("info_pack_text");
  std::filesystem::create_directories(dir / "mnist");
  relnet::testing::write_tiny_mnist(dir / "mnist", 30, 10);
  PackOptions o;
  o.dataset = "mnist";
  o.root = dir / "mnist";
  o.out = dir / "pack";
  pack_dataset(o);
  const std::string text = format_pack_report(pack_report(o.out, /*verify=*/false));
  EXPECT_NE(text.find("pack at '" + o.out + "': mnist from '" + o.root + "', 16x16, 10 classes"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("  train           30 images (3..3 per class)"), std::string::npos) << text;
  EXPECT_NE(text.find("files intact: yes (structure; --verify checks every byte)"),
            std::string::npos)
      << text;
}

}  // namespace
}  // namespace relnet
