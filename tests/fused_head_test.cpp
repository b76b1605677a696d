// The fused relation-head kernel against LibTorch's modules.
#include "relnet/relation/fused_head.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <chrono>
#include <iostream>

#include "relnet/relation/head.h"
#include "relnet/relation/loss.h"
#include "relnet/relation/pairs.h"
#include "test_util.h"

namespace relnet {
namespace {

using relnet::testing::error_of;
using relnet::testing::expect_tensors_close;

struct Modules {
  torch::nn::BatchNorm1d bn;
  torch::nn::Linear fc;
};

Modules make_modules(int64_t H, uint64_t seed) {
  torch::manual_seed(seed);
  Modules m{torch::nn::BatchNorm1d(H), torch::nn::Linear(H, 1)};
  torch::NoGradGuard no_grad;
  m.bn->weight.uniform_(0.5, 1.5);
  m.bn->bias.uniform_(-0.5, 0.5);
  return m;
}

// The kernel on its own, on pairs of a random index with rows used
// unequally often and a hidden width that is not a multiple of the vector
// width: logits, all six gradients and the running statistics.
TEST(FusedPairHeadTest, EqualsBatchNormLeakyReluLinear) {
  const int64_t R = 9, H = 21, P = 300;
  Modules f = make_modules(H, 7), p = make_modules(H, 7);
  for (int step = 0; step < 2; ++step) {
    SCOPED_TRACE("step " + std::to_string(step));
    const torch::Tensor li = torch::randint(0, R, {P}, torch::kInt64);
    const torch::Tensor ri = torch::randint(0, R - 3, {P}, torch::kInt64);
    const torch::Tensor lbase = torch::randn({R, H}) + 0.5, rbase = torch::randn({R, H});
    const torch::Tensor l1 = lbase.clone().requires_grad_(true),
                        r1 = rbase.clone().requires_grad_(true);
    const torch::Tensor l2 = lbase.clone().requires_grad_(true),
                        r2 = rbase.clone().requires_grad_(true);
    f.bn->zero_grad();
    f.fc->zero_grad();
    p.bn->zero_grad();
    p.fc->zero_grad();
    const torch::Tensor out = fused_pair_head(l1, r1, li, ri, *f.bn, *f.fc, 0.01);
    const torch::Tensor ref =
        p.fc->forward(torch::leaky_relu(
                          p.bn->forward(l2.index_select(0, li) + r2.index_select(0, ri)), 0.01))
            .squeeze(1);
    expect_tensors_close(out, ref, "logits");
    const torch::Tensor grad = torch::randn({P});
    out.backward(grad);
    ref.backward(grad);
    expect_tensors_close(l1.grad(), l2.grad(), "d left");
    expect_tensors_close(r1.grad(), r2.grad(), "d right");
    expect_tensors_close(f.bn->weight.grad(), p.bn->weight.grad(), "d bn weight");
    expect_tensors_close(f.bn->bias.grad(), p.bn->bias.grad(), "d bn bias");
    expect_tensors_close(f.fc->weight.grad(), p.fc->weight.grad(), "d fc weight");
    expect_tensors_close(f.fc->bias.grad(), p.fc->bias.grad(), "d fc bias");
    expect_tensors_close(f.bn->running_mean, p.bn->running_mean, "running mean", 1e-5, 1e-6);
    expect_tensors_close(f.bn->running_var, p.bn->running_var, "running var", 1e-5, 1e-6);
    EXPECT_EQ(f.bn->num_batches_tracked.item<int64_t>(), p.bn->num_batches_tracked.item<int64_t>());
  }
}

// The head as training uses it, on enough pairs for several chunks (run on
// one thread and on two): fused and unfused give the same logits, loss and
// gradients of the features and of every head parameter.
TEST(FusedPairHeadTest, RelationHeadFusedEqualsUnfusedForLinearAggregations) {
  const int threads = at::get_num_threads();
  for (const int t : {1, 2}) {
    at::set_num_threads(t);
    for (const auto agg : {Aggregation::kCat, Aggregation::kSum, Aggregation::kMean}) {
      SCOPED_TRACE(to_string(agg) + ", " + std::to_string(t) + " threads");
      const int64_t K = 10, B = 64, D = 16;  // 5,760 pairs
      const torch::Tensor base = torch::randn({K * B, D});
      const auto run = [&](bool fused) {
        torch::manual_seed(12);
        RelationHead head(aggregated_size(agg, D), 40);
        head->set_fused(fused);
        torch::Tensor features = base.clone().requires_grad_(true);
        const torch::Tensor logits = head->forward_views(features, K, agg);
        const torch::Tensor loss = relation_loss(logits, pair_index_for(features, K).targets);
        loss.backward();
        std::vector<torch::Tensor> out = {logits.detach(), loss.detach(), features.grad()};
        for (const auto& p : head->parameters()) out.push_back(p.grad());
        for (const auto& b : head->buffers()) out.push_back(b.to(torch::kFloat64));
        return out;
      };
      const auto fused = run(true), plain = run(false);
      ASSERT_EQ(fused.size(), plain.size());
      for (size_t i = 0; i < fused.size(); ++i)
        expect_tensors_close(fused[i], plain[i], "tensor " + std::to_string(i));
    }
  }
  at::set_num_threads(threads);
}

// The projections split over threads give torch::mm's and torch::addmm's
// values and gradients, on a row count and a hidden width that split
// unevenly, on one thread and on two, and with only one output used.
TEST(FusedPairHeadTest, ViewProjectionsEqualMmAndAddmm) {
  const int threads = at::get_num_threads();
  const int64_t N = 601, D = 12, H = 37;
  torch::manual_seed(5);
  const torch::Tensor x0 = torch::randn({N, D}), w0 = torch::randn({H, 2 * D}),
                      b0 = torch::randn({H}), gl = torch::randn({N, H}), gr = torch::randn({N, H});
  for (const int t : {1, 2}) {
    at::set_num_threads(t);
    for (const bool both : {true, false}) {
      SCOPED_TRACE(std::to_string(t) + " threads, " + (both ? "both outputs" : "left only"));
      std::vector<torch::Tensor> outs[2];
      for (const bool split : {true, false}) {
        const torch::Tensor x = x0.clone().requires_grad_(true);
        const torch::Tensor w = w0.clone().requires_grad_(true);
        const torch::Tensor b = b0.clone().requires_grad_(true);
        torch::Tensor left, right;
        if (split) {
          std::tie(left, right) = view_projections(x, w, b);
        } else {
          left = torch::mm(x, w.narrow(1, 0, D).t());
          right = torch::addmm(b, x, w.narrow(1, D, D).t());
        }
        torch::Tensor loss = (left * gl).sum();
        if (both) loss = loss + (right * gr).sum();
        loss.backward();
        outs[split] = {left.detach(), right.detach(), x.grad(), w.grad(),
                       b.grad().defined() ? b.grad() : torch::zeros({H})};
      }
      for (size_t i = 0; i < outs[0].size(); ++i)
        expect_tensors_close(outs[1][i], outs[0][i], "tensor " + std::to_string(i));
    }
  }
  at::set_num_threads(threads);
  EXPECT_NE(error_of([&] {
              view_projections(x0, torch::randn({H, D}), b0);
            }).find("(H, 2D)"),
            std::string::npos);
  EXPECT_NE(error_of([&] { view_projections(x0, w0, torch::randn({H + 1})); }).find("bias of 37"),
            std::string::npos);
}

TEST(FusedPairHeadTest, EvaluationModeUsesTheRunningStatistics) {
  const int64_t K = 3, B = 4, D = 6;
  torch::manual_seed(13);
  RelationHead head(2 * D, 8);
  const torch::Tensor features = torch::randn({K * B, D});
  head->forward_views(features, K, Aggregation::kCat);  // one training step's statistics
  head->eval();
  const torch::Tensor projected = head->forward_views(features, K, Aggregation::kCat);
  const torch::Tensor straight = head->forward(make_pairs(features, K, Aggregation::kCat).inputs);
  expect_tensors_close(projected, straight, "eval logits");
}

TEST(FusedPairHeadTest, RefusesWhatItCannotTake) {
  Modules m = make_modules(4, 1);
  const torch::Tensor idx = torch::zeros({3}, torch::kInt64);
  EXPECT_NE(
      error_of([&] {
        fused_pair_head(torch::randn({2, 4}), torch::randn({2, 5}), idx, idx, *m.bn, *m.fc, 0.01);
      }).find("equal-shaped"),
      std::string::npos);
  EXPECT_NE(error_of([&] {
              fused_pair_head(torch::randn({2, 4}), torch::randn({2, 4}), idx,
                              torch::zeros({2}, torch::kInt64), *m.bn, *m.fc, 0.01);
            }).find("equal-length"),
            std::string::npos);
  EXPECT_NE(error_of([&] {
              fused_pair_head(torch::randn({2, 4}), torch::randn({2, 4}), idx,
                              torch::tensor({0, 2, 1}, torch::kInt64), *m.bn, *m.fc, 0.01);
            }).find("pair 1 indexes rows 0 and 2 of 2"),
            std::string::npos);
  EXPECT_FALSE(fused_pair_head_applies(torch::randn({2, 4}, torch::kFloat64),
                                       torch::randn({2, 4}, torch::kFloat64)));
}

// Not a check: prints the fused head's time against the modules' for the
// pairs of K = 4, 16, 32 views of 64 images, hidden 256 (docs/PERFORMANCE.md).
// Run with --gtest_also_run_disabled_tests.
TEST(FusedPairHeadTest, DISABLED_TimingAgainstTheModules) {
  const auto since = [](std::chrono::steady_clock::time_point t) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
  };
  for (const int64_t K : {4, 16, 32}) {
    const int64_t B = 64, R = K * B, H = 256;
    const PairIndex index = make_pair_index(K, B);
    Modules f = make_modules(H, 1), p = make_modules(H, 1);
    for (int rep = 0; rep < 3; ++rep) {
      const torch::Tensor l = torch::randn({R, H}).requires_grad_(true);
      const torch::Tensor r = torch::randn({R, H}).requires_grad_(true);
      auto t = std::chrono::steady_clock::now();
      const torch::Tensor out = fused_pair_head(l, r, index.left, index.right, *f.bn, *f.fc, 0.01);
      const double fused_forward = since(t);
      t = std::chrono::steady_clock::now();
      out.backward(torch::ones_like(out));
      const double fused_backward = since(t);
      t = std::chrono::steady_clock::now();
      const torch::Tensor ref =
          p.fc->forward(torch::leaky_relu(p.bn->forward(l.index_select(0, index.left) +
                                                        r.index_select(0, index.right)),
                                          0.01))
              .squeeze(1);
      const double plain_forward = since(t);
      t = std::chrono::steady_clock::now();
      ref.backward(torch::ones_like(ref));
      const double plain_backward = since(t);
      std::cout << "K=" << K << " (" << index.left.numel() << " pairs): fused forward "
                << fused_forward << " s, backward " << fused_backward << " s | modules forward "
                << plain_forward << " s, backward " << plain_backward << " s\n";
    }
  }
}

}  // namespace
}  // namespace relnet
