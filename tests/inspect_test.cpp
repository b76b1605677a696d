// relnet inspect: entries, network check and metadata of checkpoint files.
#include "relnet/train/inspect.h"

#include <gtest/gtest.h>

#include "relnet/models/conv4.h"
#include "relnet/train/checkpoint.h"
#include "relnet/util/version.h"
#include "test_util.h"

namespace relnet {
namespace {

using relnet::testing::TempDir;

TEST(InspectTest, DescribesABackboneAndChecksItsWeights) {
  TempDir dir("inspect");
  Conv4 net;
  save_checkpoint(dir / "b.pt", Checkpoint{state_dict(*net),
                                           {},
                                           std::nullopt,
                                           {{"backbone", "conv4"},
                                            {"relnet_version", version()},
                                            {"git_commit", git_commit()},
                                            {"dataset", "cifar10"}},
                                           {}});
  const auto r = inspect_checkpoint(dir / "b.pt");
  EXPECT_EQ(r["kind"], "backbone (backbone.pt)");
  EXPECT_EQ(r["backbone"]["parameters"], 24648);
  EXPECT_EQ(r["backbone"]["feature_size"], 64);
  EXPECT_EQ(r["backbone"]["loads"], true);
  EXPECT_EQ(r["entries"]["backbone"]["tensors"], 24);  // 4 x (conv + 4 BN tensors + counter)
  const std::string text = format_inspection(r);
  EXPECT_NE(text.find("backbone conv4: 24648 parameters, feature size 64, weights load: yes"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find(std::string("written by relnet ") + version()), std::string::npos) << text;
}

TEST(InspectTest, WeightsOfAnotherNetworkAreFlagged) {
  TempDir dir("inspect_bad");
  Conv4 net;
  save_checkpoint(dir / "b.pt",
                  Checkpoint{state_dict(*net), {}, std::nullopt, {{"backbone", "resnet8"}}, {}});
  const auto r = inspect_checkpoint(dir / "b.pt");
  EXPECT_EQ(r["backbone"]["loads"], false);
  EXPECT_NE(r["backbone"]["error"].get<std::string>().find("checkpoint '" + dir / "b.pt" + "'"),
            std::string::npos);
}

TEST(InspectTest, VersionAndCommitAreRecorded) {
  EXPECT_STREQ(version(), RELNET_VERSION);
  // Built from a git checkout (CI clones one): a 12-hex-digit commit,
  // possibly with -dirty; outside a checkout the string is empty.
  const std::string commit = git_commit();
  if (!commit.empty()) {
    EXPECT_GE(commit.size(), 12u);
    EXPECT_EQ(commit.substr(0, 12).find_first_not_of("0123456789abcdef"), std::string::npos)
        << commit;
  }
}

}  // namespace
}  // namespace relnet
