// Helpers shared by the tests: temporary folders and tiny generated datasets
// in the exact on-disk formats relnet reads.
#pragma once

#include <gtest/gtest.h>
#include <torch/torch.h>
#include <unistd.h>
#include <zlib.h>

#include <chrono>
#include <cstdint>
#include <exception>
#include <filesystem>
#include <functional>
#include <iostream>
#include <string>
#include <vector>

#include "relnet/config.h"
#include "relnet/util/rng.h"
#include "relnet/util/runtime.h"

namespace relnet::testing {

// The message of the exception `f` throws, or "" when it throws none.
inline std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const std::exception& e) {
    return e.what();
  }
  return "";
}

// Expects `a` and `b` of one shape and allclose(rtol, atol), naming `what`
// and the largest difference otherwise.
inline void expect_tensors_close(const torch::Tensor& a, const torch::Tensor& b,
                                 const std::string& what, double rtol = 1e-4, double atol = 1e-5) {
  ASSERT_EQ(a.sizes(), b.sizes()) << what;
  EXPECT_TRUE(torch::allclose(a, b, rtol, atol))
      << what << ": max difference " << (a - b).abs().max().item<double>();
}

// Expects a float32 BatchNorm's parameter gradients and training state (running
// mean and variance, steps counted) equal to a reference BatchNorm's, which may
// run in float64.
inline void expect_batchnorm_close(const torch::nn::BatchNorm2d& bn,
                                   const torch::nn::BatchNorm2d& reference) {
  const auto f32 = [](const torch::Tensor& t) { return t.to(torch::kFloat32); };
  expect_tensors_close(bn->weight.grad(), f32(reference->weight.grad()), "d bn weight");
  expect_tensors_close(bn->bias.grad(), f32(reference->bias.grad()), "d bn bias");
  expect_tensors_close(bn->running_mean, f32(reference->running_mean), "running mean", 1e-5, 1e-6);
  expect_tensors_close(bn->running_var, f32(reference->running_var), "running var", 1e-5, 1e-6);
  EXPECT_EQ(bn->num_batches_tracked.item<int64_t>(),
            reference->num_batches_tracked.item<int64_t>());
}

// Not a check, for the block kernels' DISABLED_Timing tests: `reps` times,
// on all cores with relnet's allocator settings, runs `fused` and then
// `plain` (each returns a block's output, after `reset` clears the
// gradients) forward and backward with a gradient of ones, and prints their
// seconds on one line (docs/PERFORMANCE.md quotes these).
inline void print_block_timings(const std::function<torch::Tensor()>& fused,
                                const std::function<torch::Tensor()>& plain,
                                const std::function<void()>& reset, int reps = 5) {
  keep_freed_memory();  // as relnet does: no page faults on fresh buffers each step
  const int saved_threads = at::get_num_threads();
  at::set_num_threads(hardware_threads());
  const auto time = [&](const std::function<torch::Tensor()>& block, double& forward,
                        double& backward) {
    reset();
    auto t = std::chrono::steady_clock::now();
    const torch::Tensor out = block();
    forward = std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
    t = std::chrono::steady_clock::now();
    out.backward(torch::ones_like(out));
    backward = std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
  };
  for (int rep = 0; rep < reps; ++rep) {
    double fused_forward, fused_backward, plain_forward, plain_backward;
    time(fused, fused_forward, fused_backward);
    time(plain, plain_forward, plain_backward);
    std::cout << at::get_num_threads() << " threads: fused block forward " << fused_forward
              << " s, backward " << fused_backward << " s | convolution + fused BatchNorm forward "
              << plain_forward << " s, backward " << plain_backward << " s\n";
  }
  at::set_num_threads(saved_threads);
}

// A fresh, empty folder under the system temp dir, removed on destruction.
class TempDir {
 public:
  explicit TempDir(const std::string& tag) {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    std::string name = "relnet_" + tag;
    if (info) name += std::string("_") + info->test_suite_name() + "_" + info->name();
    // CTest runs tests of one suite as parallel processes: keep them apart.
    name += "_" + std::to_string(::getpid());
    path_ = std::filesystem::temp_directory_path() / name;
    std::filesystem::remove_all(path_);
    std::filesystem::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  std::string str() const { return path_.string(); }
  std::string operator/(const std::string& name) const { return (path_ / name).string(); }

 private:
  std::filesystem::path path_;
};

inline void put_be32(std::vector<uint8_t>& out, uint32_t v) {
  for (int s = 24; s >= 0; s -= 8) out.push_back(static_cast<uint8_t>(v >> s));
}

inline void write_gz(const std::string& path, const std::vector<uint8_t>& bytes) {
  gzFile f = gzopen(path.c_str(), "wb");
  ASSERT_NE(f, nullptr) << path;
  ASSERT_EQ(gzwrite(f, bytes.data(), static_cast<unsigned>(bytes.size())),
            static_cast<int>(bytes.size()));
  gzclose(f);
}

// Image i of class label i % 10: dark noise plus a bright bar whose row
// depends on the class, so classes are linearly separable after training.
// With `noisy` the background noise reaches 150 and the bar starts at 120:
// a linear probe on a random Conv4's features then gets about 55%, while
// any of the training methods lifts it above 90% in a few epochs.
inline uint8_t pattern_pixel(int64_t i, int64_t y, int64_t x, int64_t side, Rng& rng,
                             bool noisy = false) {
  const int64_t label = i % 10;
  const int64_t row = 2 + label * (side - 4) / 10;
  const bool bar = y >= row && y < row + 2 && x >= 2 && x < side - 2;
  if (noisy) return static_cast<uint8_t>(bar ? 120 + rng.below(136) : rng.below(150));
  return static_cast<uint8_t>(bar ? 200 + rng.below(56) : rng.below(60));
}

// Writes an MNIST-style split (train-* or t10k-*) of `n` side x side images,
// gzip-compressed, into `dir`.
inline void write_idx_split(const std::string& dir, const std::string& prefix, int64_t n,
                            int64_t side, uint64_t seed, bool noisy = false) {
  std::vector<uint8_t> images, labels;
  put_be32(images, 0x00000803);
  put_be32(images, static_cast<uint32_t>(n));
  put_be32(images, static_cast<uint32_t>(side));
  put_be32(images, static_cast<uint32_t>(side));
  put_be32(labels, 0x00000801);
  put_be32(labels, static_cast<uint32_t>(n));
  Rng rng(seed);
  for (int64_t i = 0; i < n; ++i) {
    labels.push_back(static_cast<uint8_t>(i % 10));
    for (int64_t y = 0; y < side; ++y)
      for (int64_t x = 0; x < side; ++x) images.push_back(pattern_pixel(i, y, x, side, rng, noisy));
  }
  write_gz(dir + "/" + prefix + "-images-idx3-ubyte.gz", images);
  write_gz(dir + "/" + prefix + "-labels-idx1-ubyte.gz", labels);
}

// A tiny MNIST-format dataset (train + test) in `dir`.
inline void write_tiny_mnist(const std::string& dir, int64_t n_train, int64_t n_test,
                             int64_t side = 16, bool noisy = false) {
  write_idx_split(dir, "train", n_train, side, 1, noisy);
  write_idx_split(dir, "t10k", n_test, side, 2, noisy);
}

// The config of a tiny self-supervised run on the MNIST-format data in
// `data_root` (write_tiny_mnist): K=2, batch 16, 1 epoch, 1 thread, CPU,
// written to `out_dir`. Tests change what they need.
inline Config tiny_mnist_config(const std::string& data_root, const std::string& out_dir) {
  Config c;
  c.name = "tiny";
  c.data.dataset = "mnist";
  c.data.root = data_root;
  c.augment.K = 2;
  c.train.batch_size = 16;
  c.train.epochs = 1;
  c.train.threads = 1;
  c.train.device = "cpu";
  c.train.out_dir = out_dir;
  return c;
}

}  // namespace relnet::testing
