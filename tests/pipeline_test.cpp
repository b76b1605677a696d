// Tests of ViewAugmenter::make_views / augment and normalize_images: shapes,
// view-major order, value ranges, determinism across threads, input checks,
// and the kCropFlip / kFlip recipes against torch's padding and flips.
#include "relnet/augment/pipeline.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <chrono>
#include <cstdio>
#include <functional>
#include <set>
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

ViewAugmenter recipe_augmenter(ViewKind kind, int64_t padding, double flip_p, int64_t side) {
  AugmentConfig config;
  config.flip_p = flip_p;
  return ViewAugmenter(config, cifar_norm(), side, ViewRecipe{kind, padding});
}

// Where a kCropFlip view was cut from: window corner in the padded image, mirrored or not.
struct Window {
  int64_t top = 0;
  int64_t left = 0;
  bool flip = false;
  bool operator==(const Window& o) const {
    return top == o.top && left == o.left && flip == o.flip;
  }
};

// Every window of `padded` ((3, Hp, Wp) normalised float) that `view` ((3, s, s)) equals exactly.
std::vector<Window> matching_windows(const torch::Tensor& view, const torch::Tensor& padded) {
  const int64_t s = view.size(1);
  std::vector<Window> found;
  for (int64_t top = 0; top + s <= padded.size(1); ++top) {
    for (int64_t left = 0; left + s <= padded.size(2); ++left) {
      const auto window = padded.slice(1, top, top + s).slice(2, left, left + s);
      if (torch::equal(view, window)) found.push_back({top, left, false});
      if (torch::equal(view, window.flip({2}))) found.push_back({top, left, true});
    }
  }
  return found;
}

TEST(ViewAugmenterTest, RecipeDefaultsToRelationalAndKeepsItsViews) {
  const ViewAugmenter three(AugmentConfig{}, cifar_norm(), 32);
  EXPECT_EQ(three.recipe().kind, ViewKind::kRelational);
  EXPECT_EQ(three.recipe().padding, 0);
  const ViewAugmenter four(AugmentConfig{}, cifar_norm(), 32, ViewRecipe{});
  const auto images = random_images(4, 32, 32, 12);
  EXPECT_TRUE(
      torch::equal(three.make_views(images, 3, 5, 1, 2), four.make_views(images, 3, 5, 1, 2)));
}

TEST(ViewAugmenterTest, CropFlipWithoutPaddingIsTheNormalizedImage) {
  const auto images = random_images(3, 16, 16, 13);
  const auto normalized = normalize_images(images, cifar_norm());
  const auto plain =
      recipe_augmenter(ViewKind::kCropFlip, 0, 0.0, 16).make_views(images, 2, 1, 0, 0);
  EXPECT_TRUE(torch::equal(plain, torch::cat({normalized, normalized})));
  const auto flipped =
      recipe_augmenter(ViewKind::kCropFlip, 0, 1.0, 16).make_views(images, 2, 1, 0, 0);
  EXPECT_TRUE(torch::equal(flipped, torch::cat({normalized, normalized}).flip({3})));
}

TEST(ViewAugmenterTest, CropFlipViewsAreWindowsOfTheZeroPaddedImage) {
  const int64_t side = 8, p = 2, B = 4, K = 4;
  const ViewAugmenter aug = recipe_augmenter(ViewKind::kCropFlip, p, 0.5, side);
  torch::manual_seed(14);  // pixels 1..255, so no window of the image passes for padding
  const auto images = torch::randint(1, 256, {B, 3, side, side}, torch::kUInt8);
  const auto padded =
      normalize_images(torch::constant_pad_nd(images, {p, p, p, p}, 0), cifar_norm());
  std::set<int64_t> tops, lefts;
  std::set<bool> flips;
  for (uint64_t seed = 0; seed < 15; ++seed) {
    const auto views = aug.make_views(images, K, seed, 1, 2);
    for (int64_t b = 0; b < B; ++b) {
      // The draws augment makes: top, left, flip coin per view, nothing else.
      Rng rng(derive_seed({seed, 1, 2, static_cast<uint64_t>(b)}));
      for (int64_t v = 0; v < K; ++v) {
        Window want;
        want.top = rng.randint(0, 2 * p);
        want.left = rng.randint(0, 2 * p);
        want.flip = rng.bernoulli(0.5);
        const auto found = matching_windows(views[v * B + b], padded[b]);
        ASSERT_EQ(found.size(), 1u) << "seed " << seed << " view " << v << " image " << b;
        EXPECT_TRUE(found[0] == want) << "seed " << seed << " view " << v << " image " << b;
        tops.insert(found[0].top);
        lefts.insert(found[0].left);
        flips.insert(found[0].flip);
      }
    }
  }
  EXPECT_EQ(tops, (std::set<int64_t>{0, 1, 2, 3, 4}));
  EXPECT_EQ(lefts, (std::set<int64_t>{0, 1, 2, 3, 4}));
  EXPECT_EQ(flips.size(), 2u);
}

TEST(ViewAugmenterTest, CropFlipOfANonSquareImageIsAWindowOfIt) {
  // 12x10 image, side 8, padding 1: windows of the padded 14x12 image.
  const ViewAugmenter aug = recipe_augmenter(ViewKind::kCropFlip, 1, 0.5, 8);
  torch::manual_seed(15);
  const auto images = torch::randint(1, 256, {2, 3, 12, 10}, torch::kUInt8);
  const auto padded =
      normalize_images(torch::constant_pad_nd(images, {1, 1, 1, 1}, 0), cifar_norm());
  const auto views = aug.make_views(images, 3, 4, 0, 0);
  for (int64_t r = 0; r < 6; ++r) {
    EXPECT_EQ(matching_windows(views[r], padded[r % 2]).size(), 1u) << "row " << r;
  }
}

TEST(ViewAugmenterTest, FlipRecipeGivesTheImageOrItsMirror) {
  const ViewAugmenter aug = recipe_augmenter(ViewKind::kFlip, 0, 0.5, 8);
  const auto images = random_images(4, 8, 8, 16);
  const auto normalized = normalize_images(images, cifar_norm());
  const auto views = aug.make_views(images, 4, 3, 2, 1);
  std::set<bool> flips;
  for (int64_t b = 0; b < 4; ++b) {
    Rng rng(derive_seed({3, 2, 1, static_cast<uint64_t>(b)}));  // the flip coin only
    for (int64_t v = 0; v < 4; ++v) {
      const bool flip = rng.bernoulli(0.5);
      const auto want = flip ? normalized[b].flip({2}) : normalized[b];
      EXPECT_TRUE(torch::equal(views[v * 4 + b], want)) << "view " << v << " image " << b;
      flips.insert(flip);
    }
  }
  EXPECT_EQ(flips.size(), 2u);
}

TEST(ViewAugmenterTest, EveryRecipeIdenticalForOneAndTwoThreads) {
  const auto images = random_images(33, 32, 32, 17);
  const int saved = at::get_num_threads();
  for (const ViewRecipe recipe :
       {ViewRecipe{ViewKind::kRelational, 0}, ViewRecipe{ViewKind::kCropFlip, 4},
        ViewRecipe{ViewKind::kFlip, 0}}) {
    const ViewAugmenter aug(AugmentConfig{}, cifar_norm(), 32, recipe);
    at::set_num_threads(1);
    const auto one = aug.make_views(images, 4, 9, 1, 1);
    at::set_num_threads(2);
    const auto two = aug.make_views(images, 4, 9, 1, 1);
    EXPECT_TRUE(torch::equal(one, two)) << "recipe " << static_cast<int>(recipe.kind);
  }
  at::set_num_threads(saved);
}

TEST(ViewAugmenterTest, RecipesRejectBadPaddingAndImageSizes) {
  EXPECT_EQ(invalid_argument_of([] {
              ViewAugmenter(AugmentConfig{}, cifar_norm(), 32, ViewRecipe{ViewKind::kCropFlip, -1});
            }),
            "ViewAugmenter: padding must be >= 0, got -1");
  const ViewAugmenter crop = recipe_augmenter(ViewKind::kCropFlip, 2, 0.5, 32);
  EXPECT_EQ(invalid_argument_of([&] { crop.make_views(random_images(2, 27, 30), 2, 1, 0, 0); }),
            "ViewAugmenter::augment: a 27x30 image padded by 2 is smaller than the 32x32 crop");
  auto out = torch::empty({3, 32, 32}, torch::kFloat32);
  const auto image = random_images(1, 32, 20)[0].contiguous();
  Rng rng(1);
  EXPECT_EQ(invalid_argument_of([&] {
              crop.augment(image.data_ptr<uint8_t>(), 32, 20, rng, out.data_ptr<float>());
            }),
            "ViewAugmenter::augment: a 32x20 image padded by 2 is smaller than the 32x32 crop");
  const ViewAugmenter flip = recipe_augmenter(ViewKind::kFlip, 0, 0.5, 32);
  EXPECT_EQ(invalid_argument_of([&] { flip.make_views(random_images(2, 28, 32), 2, 1, 0, 0); }),
            "ViewAugmenter::augment: kFlip needs a 32x32 image, got 28x32");
}

TEST(DefaultCropPaddingTest, IsAnEighthOfTheSideRoundedHalfUp) {
  EXPECT_EQ(default_crop_padding(32), 4);
  EXPECT_EQ(default_crop_padding(64), 8);
  EXPECT_EQ(default_crop_padding(96), 12);
  EXPECT_EQ(default_crop_padding(28), 4);
  EXPECT_EQ(default_crop_padding(2), 1);
  EXPECT_EQ(invalid_argument_of([] { default_crop_padding(0); }),
            "default_crop_padding: side must be >= 1, got 0");
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

// As above for the kCropFlip recipe (padding 4).
TEST(ViewAugmenterTest, DISABLED_ThroughputOneThreadCropFlip) {
  const ViewAugmenter aug(AugmentConfig{}, cifar_norm(), 32, ViewRecipe{ViewKind::kCropFlip, 4});
  const auto images = random_images(256, 32, 32, 11);
  const int saved = at::get_num_threads();
  at::set_num_threads(1);
  aug.make_views(images, 4, 1, 0, 0);  // warm-up
  const int rounds = 200;
  const auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < rounds; ++i) aug.make_views(images, 4, 1, 0, i);
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  at::set_num_threads(saved);
  std::printf("views/s (1 thread, 32x32 -> 32x32, kCropFlip padding 4): %.0f\n",
              rounds * 256 * 4 / s);
}

}  // namespace
}  // namespace relnet
