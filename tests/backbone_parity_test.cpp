// PyTorch parity of every backbone, both ways: reference weights written by
// tests/python/backbone_parity.py load into relnet and give the same features
// (eval and train mode), and relnet-written weights load into PyTorch.
#include <gtest/gtest.h>

#include <cstdlib>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "relnet/models/backbone.h"
#include "relnet/train/checkpoint.h"
#include "relnet/util/fs.h"
#include "test_util.h"

namespace relnet {
namespace {

using relnet::testing::TempDir;

constexpr double kTolerance = 1e-4;  // max abs feature difference

// Input side of the parity inputs: 64 for the ImageNet ResNets, else 32.
int64_t input_side(const std::string& name) {
  return (name == "resnet18" || name == "resnet34") ? 64 : 32;
}

// A dict of tensors written by Python's torch.save({...}).
c10::Dict<c10::IValue, c10::IValue> load_tensor_dict(const std::string& path) {
  const std::vector<char> bytes = read_file(path);
  const c10::IValue value = torch::pickle_load(bytes);
  if (!value.isGenericDict()) throw std::runtime_error(path + ": not a dict");
  return value.toGenericDict();
}

Backbone load_reference(const std::string& name, const std::string& path) {
  Backbone net = make_backbone(name);
  load_state_dict(*net, load_checkpoint(path).backbone, path);  // strict
  return net;
}

double max_abs_diff(const torch::Tensor& a, const torch::Tensor& b) {
  EXPECT_EQ(a.sizes(), b.sizes());
  return (a - b).abs().max().item<double>();
}

class ReferenceParityTest : public ::testing::TestWithParam<std::string> {
 public:
  // Runs the Python reference once for all backbones; leaves skip_reason_
  // set when /usr/bin/python3 lacks torch or torchvision.
  static void SetUpTestSuite() {
    if (std::system(RELNET_PYTHON " -c 'import torch, torchvision' >/dev/null 2>&1") != 0) {
      skip_reason_ = std::string(RELNET_PYTHON) +
                     " with torch and torchvision is not installed (scripts/setup.sh installs it)";
      return;
    }
    dir_ = std::make_unique<TempDir>("backbone_parity");
    const std::string cmd = std::string(RELNET_PYTHON) + " " + RELNET_SOURCE_DIR +
                            "/tests/python/backbone_parity.py " + dir_->str() + " >/dev/null";
    if (std::system(cmd.c_str()) != 0) failure_ = "reference script failed: " + cmd;
  }
  static void TearDownTestSuite() { dir_.reset(); }

 protected:
  void SetUp() override {
    if (!skip_reason_.empty()) GTEST_SKIP() << skip_reason_;
    ASSERT_TRUE(failure_.empty()) << failure_;
  }

  static std::string skip_reason_, failure_;
  static std::unique_ptr<TempDir> dir_;
};

std::string ReferenceParityTest::skip_reason_;
std::string ReferenceParityTest::failure_;
std::unique_ptr<TempDir> ReferenceParityTest::dir_;

TEST_P(ReferenceParityTest, ReferenceWeightsGiveTheReferenceFeatures) {
  const std::string name = GetParam();
  const std::string weights = *dir_ / (name + ".pt");
  const auto io = load_tensor_dict(*dir_ / (name + "_io.pt"));
  const torch::Tensor x = io.at("x").toTensor();
  ASSERT_EQ(x.sizes(), (std::vector<int64_t>{4, 3, input_side(name), input_side(name)}));
  torch::NoGradGuard no_grad;

  Backbone eval_net = load_reference(name, weights);
  eval_net->eval();
  const double eval_diff = max_abs_diff(eval_net->forward(x), io.at("eval").toTensor());
  EXPECT_LT(eval_diff, kTolerance) << name << " eval mode";

  // Train mode normalises with batch statistics (and updates the running
  // ones), so it runs on a fresh copy of the weights.
  Backbone train_net = load_reference(name, weights);
  train_net->train();
  const double train_diff = max_abs_diff(train_net->forward(x), io.at("train").toTensor());
  EXPECT_LT(train_diff, kTolerance) << name << " train mode";
  std::cout << "[parity] " << name << ": eval max abs diff " << eval_diff << ", train "
            << train_diff << "\n";
}

// Averages BN running statistics over a few random batches (cumulative
// average, as momentum=None in PyTorch) so that eval-mode activations of deep
// nets stay O(1) and a 1e-4 absolute tolerance is meaningful.
void calibrate_batch_norm(BackboneImpl& net, int64_t side) {
  torch::NoGradGuard no_grad;
  std::vector<torch::nn::BatchNorm2dImpl*> bns;
  for (auto& m : net.modules(/*include_self=*/false)) {
    if (auto* bn = m->as<torch::nn::BatchNorm2d>()) bns.push_back(bn);
  }
  for (auto* bn : bns) bn->options.momentum(c10::nullopt);
  net.train();
  for (int i = 0; i < 3; ++i) net.forward(torch::randn({8, 3, side, side}));
  for (auto* bn : bns) bn->options.momentum(0.1);
}

TEST(BackboneParityTest, RelnetWeightsLoadStrictlyInPyTorch) {
  if (std::system(RELNET_PYTHON " -c 'import torch, torchvision' >/dev/null 2>&1") != 0) {
    GTEST_SKIP() << RELNET_PYTHON
                 << " with torch and torchvision is not installed (scripts/setup.sh installs it)";
  }
  TempDir dir("relnet_to_py");
  std::string args;
  for (const auto& name : known_backbones()) {
    torch::manual_seed(7);
    Backbone net = make_backbone(name);
    calibrate_batch_norm(*net, input_side(name));
    net->eval();
    torch::NoGradGuard no_grad;
    const auto x = torch::randn({4, 3, input_side(name), input_side(name)});
    const auto features = net->forward(x);
    const std::string weights = dir / (name + ".pt"), io_path = dir / (name + "_io.pt");
    save_checkpoint(weights,
                    Checkpoint{state_dict(*net), {}, std::nullopt, {{"backbone", name}}, {}});
    c10::impl::GenericDict io(c10::StringType::get(), c10::TensorType::get());
    io.insert("x", x);
    io.insert("features", features);
    const auto bytes = torch::pickle_save(c10::IValue(io));
    write_file_atomic(io_path, bytes.data(), bytes.size());
    args += " " + weights + " " + io_path;
  }
  const std::string cmd = std::string(RELNET_PYTHON) + " " + RELNET_SOURCE_DIR +
                          "/tests/python/check_backbone.py" + args;
  EXPECT_EQ(std::system(cmd.c_str()), 0) << cmd;
}

INSTANTIATE_TEST_SUITE_P(AllBackbones, ReferenceParityTest, ::testing::ValuesIn(known_backbones()),
                         [](const ::testing::TestParamInfo<std::string>& info) {
                           return info.param;
                         });

}  // namespace
}  // namespace relnet
