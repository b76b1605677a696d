// Loss and feature-gradient parity with PyTorch for every method besides
// relational reasoning (tests/relation_parity_test.cpp): the reference
// values come from tests/python/method_parity.py, which computes each loss
// the way the reference implementation's methods/*.py do.
#include <gtest/gtest.h>

#include <cstdlib>

#include "relnet/methods/clustering.h"
#include "relnet/methods/deepcluster.h"
#include "relnet/methods/infomax.h"
#include "relnet/methods/rotation.h"
#include "relnet/methods/simclr.h"
#include "relnet/methods/supervised.h"
#include "relnet/train/checkpoint.h"
#include "relnet/util/fs.h"
#include "test_util.h"

namespace relnet {
namespace {

namespace F = torch::nn::functional;
using relnet::testing::TempDir;

class MethodParityTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (std::system(RELNET_PYTHON " -c 'import torch' >/dev/null 2>&1") != 0) return;
    TempDir dir("method_parity");
    const std::string out = dir / "ref.pt";
    const std::string cmd = std::string(RELNET_PYTHON) + " " + RELNET_SOURCE_DIR +
                            "/tests/python/method_parity.py " + out;
    ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
    ref_ = new c10::impl::GenericDict(torch::pickle_load(read_file(out)).toGenericDict());
  }
  static void TearDownTestSuite() {
    delete ref_;
    ref_ = nullptr;
  }
  void SetUp() override {
    if (!ref_)
      GTEST_SKIP() << RELNET_PYTHON
                   << " with torch is not installed (scripts/setup.sh installs it)";
  }
  static torch::Tensor tensor(const std::string& key) { return ref_->at(key).toTensor(); }
  static StateDict dict(const std::string& key) {
    StateDict out;
    for (const auto& e : ref_->at(key).toGenericDict()) {
      out.emplace_back(e.key().toStringRef(), e.value().toTensor());
    }
    return out;
  }
  static void expect_close(const torch::Tensor& got, const std::string& key, double tol = 1e-6) {
    const torch::Tensor expected = tensor(key);
    ASSERT_EQ(got.sizes(), expected.sizes()) << key;
    const double diff =
        (got.to(torch::kFloat64) - expected.to(torch::kFloat64)).abs().max().item<double>();
    EXPECT_LT(diff, tol) << key << ": max |difference| " << diff;
  }
  static c10::impl::GenericDict* ref_;
};

c10::impl::GenericDict* MethodParityTest::ref_ = nullptr;

TEST_F(MethodParityTest, SimCLRBothLossesAndFeatureGradients) {
  const torch::Tensor features = tensor("simclr_features");  // (2B, D) view-major
  for (const std::string form : {"reference", "ntxent"}) {
    SCOPED_TRACE(form);
    MlpHead head(features.size(1), 16, 5);
    load_state_dict(*head, dict("simclr_head"), "reference head");
    head->train();
    const torch::Tensor f = features.clone().requires_grad_(true);
    const torch::Tensor loss = simclr_loss(head->forward(f), 0.5, form == "ntxent");
    loss.backward();
    expect_close(loss, "simclr_" + form + "_loss");
    expect_close(f.grad(), "simclr_" + form + "_grad");
  }
}

TEST_F(MethodParityTest, DeepClusterWeightedCrossEntropy) {
  const torch::Tensor labels = tensor("deepcluster_labels");
  const torch::Tensor weight = cluster_weights(labels, 4);
  expect_close(weight, "deepcluster_weight");
  MlpHead head(8, 16, 4);
  load_state_dict(*head, dict("deepcluster_head"), "reference head");
  head->train();
  const torch::Tensor f = tensor("deepcluster_features").clone().requires_grad_(true);
  const torch::Tensor loss =
      F::cross_entropy(head->forward(f), labels, F::CrossEntropyFuncOptions().weight(weight));
  loss.backward();
  expect_close(loss, "deepcluster_loss");
  expect_close(f.grad(), "deepcluster_grad");
}

TEST_F(MethodParityTest, InfoMaxLocalAndPriorTermsAndGradients) {
  InfoMaxLoss loss_fn(8, 3);
  load_state_dict(*loss_fn, dict("infomax_loss_fn"), "reference loss_fn");
  const torch::Tensor y = tensor("infomax_y").clone().requires_grad_(true);
  const torch::Tensor M = tensor("infomax_M").clone().requires_grad_(true);
  const InfoMaxTerms t = infomax_loss(loss_fn, y, M, tensor("infomax_u"), 1.0, 0.1);
  t.total.backward();
  expect_close(t.total, "infomax_loss", 2e-6);
  expect_close(t.local, "infomax_local", 2e-6);
  expect_close(t.prior, "infomax_prior", 2e-6);
  expect_close(y.grad(), "infomax_grad_y", 1e-6);
  expect_close(M.grad(), "infomax_grad_M", 1e-6);
}

// A method built over a conv4 backbone for `data`, its module `key` loaded
// with the reference's weights.
template <typename M>
std::unique_ptr<M> method_with(const Config& config, const ImageDataset& data,
                               const StateDict& weights) {
  auto method = std::make_unique<M>(
      MethodContext{&config, &data, Normalization{}, torch::kCPU, make_backbone("conv4")});
  load_state_dict(*method->modules().at(0).second, weights, "reference weights");
  return method;
}

ImageDataset labelled(const torch::Tensor& labels, int64_t classes) {
  ImageDataset d;
  d.name = "fixed";
  d.images = torch::zeros({labels.size(0), 3, 8, 8}, torch::kUInt8);
  d.labels = labels;
  d.num_classes = classes;
  return d;
}

TEST_F(MethodParityTest, RotationTurnsAndCrossEntropy) {
  EXPECT_TRUE(torch::equal(four_rotations(tensor("rotation_images")), tensor("rotation_rotated")));
  const Config config;
  const ImageDataset data = labelled(torch::zeros({6}, torch::kInt64), 1);
  auto method = method_with<RotationMethod>(config, data, dict("rotation_classifier"));
  const torch::Tensor f = tensor("rotation_features").clone().requires_grad_(true);  // (4B, D)
  StepClock clock(false, false);
  const MethodOutput out =
      method->loss({f}, {torch::Tensor(), torch::arange(f.size(0) / 4)}, nullptr, clock);
  out.loss.backward();
  expect_close(out.loss, "rotation_loss");
  expect_close(f.grad(), "rotation_grad");
}

TEST_F(MethodParityTest, SupervisedCrossEntropy) {
  const Config config;
  const ImageDataset data = labelled(tensor("supervised_labels"), 3);
  auto method = method_with<SupervisedMethod>(config, data, dict("supervised_classifier"));
  const torch::Tensor f = tensor("supervised_features").clone().requires_grad_(true);
  StepClock clock(false, false);
  const MethodOutput out = method->loss({f}, {torch::Tensor(), torch::arange(6)}, nullptr, clock);
  out.loss.backward();
  expect_close(out.loss, "supervised_loss");
  expect_close(f.grad(), "supervised_grad");
}

}  // namespace
}  // namespace relnet
