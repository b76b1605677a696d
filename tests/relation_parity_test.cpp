// Loss and gradient parity with PyTorch for every aggregation and loss: the
// reference values come from tests/python/relation_parity.py.
#include <gtest/gtest.h>

#include <cstdlib>

#include "relnet/relation/head.h"
#include "relnet/relation/loss.h"
#include "relnet/relation/pairs.h"
#include "relnet/train/checkpoint.h"
#include "relnet/util/fs.h"
#include "test_util.h"

namespace relnet {
namespace {

using relnet::testing::TempDir;

StateDict to_state_dict(const c10::IValue& value) {
  StateDict out;
  for (const auto& e : value.toGenericDict()) {
    out.emplace_back(e.key().toStringRef(), e.value().toTensor());
  }
  return out;
}

TEST(RelationParityTest, LossAndFeatureGradientsEqualPyTorch) {
  if (std::system(RELNET_PYTHON " -c 'import torch' >/dev/null 2>&1") != 0) {
    GTEST_SKIP() << RELNET_PYTHON << " with torch is not installed (scripts/setup.sh installs it)";
  }
  TempDir dir("relation_parity");
  const std::string out = dir / "ref.pt";
  const std::string cmd = std::string(RELNET_PYTHON) + " " + RELNET_SOURCE_DIR +
                          "/tests/python/relation_parity.py " + out;
  ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
  const auto ref = torch::pickle_load(read_file(out)).toGenericDict();
  const auto features = ref.at("features").toTensor();
  const int64_t K = ref.at("K").toTensor().item<int64_t>();
  const int64_t D = features.size(1);

  for (const std::string agg_name : {"cat", "sum", "mean", "max"}) {
    const Aggregation agg = parse_aggregation(agg_name);
    for (const std::string loss_name : {"bce", "focal"}) {
      SCOPED_TRACE(agg_name + " / " + loss_name);
      RelationHead head(aggregated_size(agg, D), 16);
      load_state_dict(*head, to_state_dict(ref.at("head_" + agg_name)), "reference head");
      head->train();
      const auto f = features.clone().requires_grad_(true);
      const RelationPairs pairs = make_pairs(f, K, agg);
      const LossOptions options{parse_loss(loss_name), 2.0, 0.5};
      const auto loss = relation_loss(head->forward(pairs.inputs), pairs.targets, options);
      loss.backward();
      const auto expected_loss = ref.at(agg_name + "_" + loss_name + "_loss").toTensor();
      const auto expected_grad = ref.at(agg_name + "_" + loss_name + "_grad").toTensor();
      EXPECT_NEAR(loss.item<double>(), expected_loss.item<double>(), 1e-6);
      const double diff = (f.grad() - expected_grad).abs().max().item<double>();
      EXPECT_LT(diff, 1e-6) << "max |grad difference| " << diff;
    }
  }
}

}  // namespace
}  // namespace relnet
