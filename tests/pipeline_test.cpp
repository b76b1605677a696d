// Tests of ViewAugmenter::make_views / augment and normalize_images: shapes,
// view-major order, value ranges, determinism across threads, input checks.
#include "relnet/augment/pipeline.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <chrono>
#include <cstdio>
#include <functional>
#include <string>
#include <vector>

namespace relnet {
namespace {

// Every augmentation off: crop is the whole (square) image, no flip/jitter/gray.
AugmentConfig no_augmentation() {
  AugmentConfig c;
  c.crop_scale_min = c.crop_scale_max = 1.0;
  c.crop_ratio_min = c.crop_ratio_max = 1.0;
  c.flip_p = 0;
  c.jitter_p = 0;
  c.grayscale_p = 0;
  return c;
}

Normalization identity_norm() {
  Normalization n;
  n.mean = {0.0f, 0.0f, 0.0f};
  n.std = {1.0f, 1.0f, 1.0f};
  return n;
}

Normalization cifar_norm() {
  Normalization n;
  n.mean = {0.491f, 0.482f, 0.447f};
  n.std = {0.247f, 0.243f, 0.262f};
  return n;
}

torch::Tensor random_images(int64_t b, int64_t h, int64_t w, uint64_t seed = 0) {
  torch::manual_seed(seed);
  return torch::randint(0, 256, {b, 3, h, w}, torch::kUInt8);
}

// The message of the std::invalid_argument `f` throws ("" if none).
std::string invalid_argument_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const std::invalid_argument& e) {
    return e.what();
  }
  return "";
}

TEST(ViewAugmenterTest, MakeViewsShapeAndDtype) {
  const ViewAugmenter aug(AugmentConfig{}, cifar_norm(), 32);
  const auto views = aug.make_views(random_images(5, 32, 32), 4, 1, 0, 0);
  EXPECT_EQ(views.sizes(), (std::vector<int64_t>{20, 3, 32, 32}));
  EXPECT_EQ(views.scalar_type(), torch::kFloat32);
  EXPECT_TRUE(views.is_contiguous());
  // Another input size and output side.
  const ViewAugmenter small(AugmentConfig{}, cifar_norm(), 24);
  EXPECT_EQ(small.make_views(random_images(3, 28, 20), 2, 1, 0, 0).sizes(),
            (std::vector<int64_t>{6, 3, 24, 24}));
  EXPECT_EQ(small.make_views(random_images(0, 28, 28), 2, 1, 0, 0).sizes(),
            (std::vector<int64_t>{0, 3, 24, 24}));
}

TEST(ViewAugmenterTest, ViewMajorOrderWithAugmentationsOff) {
  const ViewAugmenter aug(no_augmentation(), identity_norm(), 32);
  const auto images = random_images(4, 32, 32, 1);
  const auto views = aug.make_views(images, 3, 5, 1, 2);
  const auto expected = images.to(torch::kFloat32).div(255.0);
  for (int64_t v = 0; v < 3; ++v) {
    for (int64_t b = 0; b < 4; ++b) {
      EXPECT_TRUE(torch::equal(views[v * 4 + b], expected[b])) << "view " << v << " image " << b;
    }
  }
}

TEST(ViewAugmenterTest, ValuesWithinNormalizedRange) {
  const Normalization norm = cifar_norm();
  const ViewAugmenter aug(AugmentConfig{}, norm, 32);
  const auto views = aug.make_views(random_images(16, 32, 32, 2), 4, 3, 0, 0);
  for (int64_t c = 0; c < 3; ++c) {
    const auto ch = views.select(1, c);
    const float lo = (0.0f - norm.mean[c]) / norm.std[c];
    const float hi = (1.0f - norm.mean[c]) / norm.std[c];
    EXPECT_GE(ch.min().item<float>(), lo - 1e-5f) << "channel " << c;
    EXPECT_LE(ch.max().item<float>(), hi + 1e-5f) << "channel " << c;
  }
  EXPECT_FALSE(torch::isnan(views).any().item<bool>());
}

TEST(ViewAugmenterTest, SameKeysGiveIdenticalViews) {
  const ViewAugmenter aug(AugmentConfig{}, cifar_norm(), 32);
  const auto images = random_images(8, 32, 32, 3);
  const auto a = aug.make_views(images, 4, 42, 3, 7);
  EXPECT_TRUE(torch::equal(a, aug.make_views(images, 4, 42, 3, 7)));
  EXPECT_FALSE(torch::equal(a, aug.make_views(images, 4, 43, 3, 7)));
  EXPECT_FALSE(torch::equal(a, aug.make_views(images, 4, 42, 4, 7)));
  EXPECT_FALSE(torch::equal(a, aug.make_views(images, 4, 42, 3, 8)));
}

TEST(ViewAugmenterTest, IdenticalForOneAndTwoThreads) {
  const ViewAugmenter aug(AugmentConfig{}, cifar_norm(), 32);
  const auto images = random_images(33, 32, 32, 4);
  const int saved = at::get_num_threads();
  at::set_num_threads(1);
  const auto one = aug.make_views(images, 4, 9, 1, 1);
  at::set_num_threads(2);
  const auto two = aug.make_views(images, 4, 9, 1, 1);
  at::set_num_threads(saved);
  EXPECT_TRUE(torch::equal(one, two));
}

TEST(ViewAugmenterTest, AugmentDrawsFromThePerImageRng) {
  const ViewAugmenter aug(AugmentConfig{}, cifar_norm(), 32);
  const auto images = random_images(3, 32, 32, 5);
  const auto views = aug.make_views(images, 2, 11, 2, 6);
  auto out = torch::empty({3, 32, 32}, torch::kFloat32);
  for (int64_t b = 0; b < 3; ++b) {
    Rng rng(derive_seed({11, 2, 6, static_cast<uint64_t>(b)}));
    const auto img = images[b].contiguous();
    for (int64_t v = 0; v < 2; ++v) {
      aug.augment(img.data_ptr<uint8_t>(), 32, 32, rng, out.data_ptr<float>());
      EXPECT_TRUE(torch::equal(out, views[v * 3 + b])) << "view " << v << " image " << b;
    }
  }
}

TEST(ViewAugmenterTest, ViewsOfOneImageDiffer) {
  const ViewAugmenter aug(AugmentConfig{}, cifar_norm(), 32);
  const auto views = aug.make_views(random_images(2, 32, 32, 6), 4, 1, 0, 0);
  for (int64_t b = 0; b < 2; ++b) {
    for (int64_t i = 0; i < 4; ++i) {
      for (int64_t j = i + 1; j < 4; ++j) {
        EXPECT_FALSE(torch::equal(views[i * 2 + b], views[j * 2 + b]))
            << "image " << b << " views " << i << " and " << j;
      }
    }
  }
}

TEST(ViewAugmenterTest, FlipProbabilityOneMirrorsTheViews) {
  AugmentConfig config = no_augmentation();
  const auto images = random_images(3, 32, 32, 7);
  const auto plain = ViewAugmenter(config, cifar_norm(), 32).make_views(images, 2, 1, 0, 0);
  config.flip_p = 1.0;
  const auto flipped = ViewAugmenter(config, cifar_norm(), 32).make_views(images, 2, 1, 0, 0);
  EXPECT_TRUE(torch::equal(flipped, plain.flip({3})));
}

TEST(ViewAugmenterTest, GrayscaleProbabilityOneGivesEqualChannels) {
  AugmentConfig config;
  config.grayscale_p = 1.0;
  const ViewAugmenter aug(config, identity_norm(), 32);
  const auto views = aug.make_views(random_images(4, 32, 32, 8), 3, 1, 0, 0);
  EXPECT_TRUE(torch::equal(views.select(1, 0), views.select(1, 1)));
  EXPECT_TRUE(torch::equal(views.select(1, 0), views.select(1, 2)));
}

TEST(ViewAugmenterTest, JitterOnlyKeepsGeometry) {
  // With crop/flip off and a brightness-only jitter of strength 0.5, each
  // view is the image scaled by one factor in [0.5, 1.5] (and clamped).
  AugmentConfig config = no_augmentation();
  config.jitter_p = 1.0;
  config.contrast = config.saturation = config.hue = 0;
  config.brightness = 0.5;
  const auto images = random_images(2, 16, 16, 9);
  const auto views = ViewAugmenter(config, identity_norm(), 16).make_views(images, 3, 1, 0, 0);
  const auto x = images.to(torch::kFloat32).div(255.0);
  for (int64_t r = 0; r < 6; ++r) {
    const auto src = x[r % 2];
    const auto mask = src > 0.05;  // factor from unclamped, non-tiny pixels
    const auto ratio =
        views[r].masked_select(mask & (views[r] < 1)) / src.masked_select(mask & (views[r] < 1));
    const float f = ratio.mean().item<float>();
    EXPECT_GE(f, 0.5f - 1e-4f);
    EXPECT_LE(f, 1.5f + 1e-4f);
    EXPECT_TRUE(torch::allclose(views[r], (src * f).clamp(0, 1), 1e-4, 1e-5)) << "row " << r;
  }
}

TEST(ViewAugmenterTest, RejectsBadInputsStatingExpectedAndFound) {
  const ViewAugmenter aug(AugmentConfig{}, cifar_norm(), 32);
  const auto images = random_images(2, 32, 32);
  EXPECT_EQ(invalid_argument_of([&] { aug.make_views(images.to(torch::kFloat32), 2, 1, 0, 0); }),
            "ViewAugmenter::make_views: images must be uint8, found Float");
  EXPECT_EQ(invalid_argument_of([&] { aug.make_views(images[0], 2, 1, 0, 0); }),
            "ViewAugmenter::make_views: images must be 4-D (N, 3, H, W), found 3-D [3, 32, 32]");
  EXPECT_EQ(invalid_argument_of([&] { aug.make_views(images.slice(1, 0, 1), 2, 1, 0, 0); }),
            "ViewAugmenter::make_views: images must have 3 channels, found 1 (shape [2, 1, 32, "
            "32])");
  EXPECT_EQ(invalid_argument_of([&] { aug.make_views(images, 0, 1, 0, 0); }),
            "ViewAugmenter::make_views: K must be >= 1, got 0");
  EXPECT_EQ(invalid_argument_of([&] { aug.make_views(torch::Tensor(), 2, 1, 0, 0); }),
            "ViewAugmenter::make_views: images tensor is undefined");
}

TEST(ViewAugmenterTest, RejectsBadSettings) {
  EXPECT_EQ(invalid_argument_of([] { ViewAugmenter(AugmentConfig{}, cifar_norm(), 0); }),
            "ViewAugmenter: side must be >= 1, got 0");
  AugmentConfig c;
  c.crop_scale_min = 0.9;
  c.crop_scale_max = 0.5;
  EXPECT_EQ(invalid_argument_of([&] { ViewAugmenter(c, cifar_norm(), 32); }),
            "ViewAugmenter: need 0 < crop_scale_min <= crop_scale_max, got (0.9, 0.5)");
  c = AugmentConfig{};
  c.hue = 0.7;
  EXPECT_EQ(invalid_argument_of([&] { ViewAugmenter(c, cifar_norm(), 32); }),
            "ViewAugmenter: hue must be in [0, 0.5], got 0.7");
  c = AugmentConfig{};
  c.flip_p = 1.5;
  EXPECT_EQ(invalid_argument_of([&] { ViewAugmenter(c, cifar_norm(), 32); }),
            "ViewAugmenter: flip_p must be in [0, 1], got 1.5");
  Normalization bad = cifar_norm();
  bad.std[1] = 0;
  EXPECT_EQ(invalid_argument_of([&] { ViewAugmenter(AugmentConfig{}, bad, 32); }),
            "ViewAugmenter: normalization std[1] must be > 0, got 0");
}

TEST(NormalizeImagesTest, MatchesTorchOps) {
  const Normalization norm = cifar_norm();
  const auto images = random_images(3, 28, 30, 10);
  const auto got = normalize_images(images, norm);
  const auto mean = torch::tensor({0.491f, 0.482f, 0.447f}).view({1, 3, 1, 1});
  const auto std = torch::tensor({0.247f, 0.243f, 0.262f}).view({1, 3, 1, 1});
  const auto want = (images.to(torch::kFloat32) / 255.0 - mean) / std;
  EXPECT_EQ(got.scalar_type(), torch::kFloat32);
  EXPECT_EQ(got.sizes(), images.sizes());
  EXPECT_TRUE(torch::allclose(got, want, 1e-6, 1e-6));
  EXPECT_EQ(invalid_argument_of([&] { normalize_images(images.to(torch::kFloat32), norm); }),
            "normalize_images: images must be uint8, found Float");
}

// Throughput on one thread, 32x32 -> 32x32, default config. Run with
// --gtest_also_run_disabled_tests --gtest_filter='*Throughput*'.
TEST(ViewAugmenterTest, DISABLED_ThroughputOneThread) {
  const ViewAugmenter aug(AugmentConfig{}, cifar_norm(), 32);
  const auto images = random_images(256, 32, 32, 11);
  const int saved = at::get_num_threads();
  at::set_num_threads(1);
  aug.make_views(images, 4, 1, 0, 0);  // warm-up
  const int rounds = 40;
  const auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < rounds; ++i) aug.make_views(images, 4, 1, 0, i);
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  at::set_num_threads(saved);
  std::printf("views/s (1 thread, 32x32 -> 32x32, default config): %.0f\n", rounds * 256 * 4 / s);
}

}  // namespace
}  // namespace relnet
