// Tests of the individual per-view transforms (transforms.h) against closed
// forms, LibTorch's interpolate and padding and, when available, torchvision
// itself.
#include "relnet/augment/transforms.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <vector>

namespace relnet {
namespace {

namespace F = torch::nn::functional;

torch::Tensor random_image(int64_t h, int64_t w, uint64_t seed) {
  torch::manual_seed(seed);
  return torch::randint(0, 256, {3, h, w}, torch::kUInt8);
}

// resize_crop of `image` ((3, H, W) uint8) -> (3, out_h, out_w) float.
torch::Tensor run_resize(const torch::Tensor& image, const CropBox& box, int64_t out_h,
                         int64_t out_w, bool flip = false) {
  ResizeWorkspace ws;
  torch::Tensor out = torch::empty({3, out_h, out_w}, torch::kFloat32);
  resize_crop(image.data_ptr<uint8_t>(), image.size(1), image.size(2), box, out_h, out_w, flip, ws,
              out.data_ptr<float>());
  return out;
}

// The expected resize of the box, via LibTorch on float / 255.
torch::Tensor torch_resize(const torch::Tensor& image, const CropBox& box, int64_t out_h,
                           int64_t out_w, bool antialias) {
  const auto crop = image.slice(1, box.top, box.top + box.height)
                        .slice(2, box.left, box.left + box.width)
                        .to(torch::kFloat32)
                        .div(255.0)
                        .unsqueeze(0);
  return F::interpolate(crop, F::InterpolateFuncOptions()
                                  .size(std::vector<int64_t>{out_h, out_w})
                                  .mode(torch::kBilinear)
                                  .align_corners(false)
                                  .antialias(antialias))
      .squeeze(0);
}

torch::Tensor luma_of(const torch::Tensor& x) {  // (3, h, w) -> (h, w)
  return kLumaR * x[0] + kLumaG * x[1] + kLumaB * x[2];
}

TEST(CropParamsTest, RespectsScaleRatioAndBounds) {
  Rng rng(7);
  for (const auto& [H, W] : {std::pair<int64_t, int64_t>{32, 32}, {28, 28}, {24, 40}, {96, 64}}) {
    double min_frac = 1.0, max_frac = 0.0;
    for (int i = 0; i < 5000; ++i) {
      const CropBox b = random_resized_crop_params(H, W, 0.08, 1.0, 3.0 / 4.0, 4.0 / 3.0, rng);
      const std::string where = "H=" + std::to_string(H) + " W=" + std::to_string(W) + " box=(" +
                                std::to_string(b.top) + "," + std::to_string(b.left) + "," +
                                std::to_string(b.height) + "," + std::to_string(b.width) + ")";
      ASSERT_GE(b.top, 0) << where;
      ASSERT_GE(b.left, 0) << where;
      ASSERT_GE(b.height, 1) << where;
      ASSERT_GE(b.width, 1) << where;
      ASSERT_LE(b.top + b.height, H) << where;
      ASSERT_LE(b.left + b.width, W) << where;
      const double h = static_cast<double>(b.height), w = static_cast<double>(b.width);
      // h and w are rounded from the exact sides, each by at most 0.5.
      const double area_tol = (0.5 * (h + w) + 0.25) / static_cast<double>(H * W);
      const double frac = h * w / static_cast<double>(H * W);
      EXPECT_GE(frac, 0.08 - area_tol) << where;
      EXPECT_LE(frac, 1.0 + area_tol) << where;
      EXPECT_GE((w + 0.5) / (h - 0.5), 3.0 / 4.0) << where;
      EXPECT_LE((w - 0.5) / (h + 0.5), 4.0 / 3.0) << where;
      min_frac = std::min(min_frac, frac);
      max_frac = std::max(max_frac, frac);
    }
    EXPECT_LT(min_frac, 0.12) << "H=" << H << " W=" << W;
    EXPECT_GT(max_frac, 0.75) << "H=" << H << " W=" << W;
  }
}

TEST(CropParamsTest, FallsBackToCentreCropWithClampedRatio) {
  Rng rng(1);
  // Half the area or more at ratio >= 10 cannot fit a square image (at scale
  // 0.08 it sometimes can): full width, h = round(32 / 10) = 3.
  CropBox b = random_resized_crop_params(32, 32, 0.5, 1.0, 10.0, 20.0, rng);
  EXPECT_EQ(b.width, 32);
  EXPECT_EQ(b.height, 3);
  EXPECT_EQ(b.top, (32 - 3) / 2);
  EXPECT_EQ(b.left, 0);
  // Ratio <= 0.1: full height, w = round(32 * 0.1) = 3.
  b = random_resized_crop_params(32, 32, 0.5, 1.0, 0.05, 0.1, rng);
  EXPECT_EQ(b.height, 32);
  EXPECT_EQ(b.width, 3);
  EXPECT_EQ(b.top, 0);
  EXPECT_EQ(b.left, (32 - 3) / 2);
  // Full area at ratio 1 never fits a 24x32 image: the centred 24x24 square.
  b = random_resized_crop_params(24, 32, 1.0, 1.0, 1.0, 1.0, rng);
  EXPECT_EQ(b.height, 24);
  EXPECT_EQ(b.width, 24);
  EXPECT_EQ(b.top, 0);
  EXPECT_EQ(b.left, 4);
}

TEST(CropParamsTest, FullScaleUnitRatioIsTheWholeSquareImage) {
  Rng rng(3);
  for (int i = 0; i < 20; ++i) {
    const CropBox b = random_resized_crop_params(32, 32, 1.0, 1.0, 1.0, 1.0, rng);
    EXPECT_EQ(b.top, 0);
    EXPECT_EQ(b.left, 0);
    EXPECT_EQ(b.height, 32);
    EXPECT_EQ(b.width, 32);
  }
}

TEST(ResizeTest, UpscaleMatchesBilinearInterpolate) {
  const auto tiny = random_image(2, 2, 1);
  const CropBox whole{0, 0, 2, 2};
  EXPECT_TRUE(torch::allclose(run_resize(tiny, whole, 4, 4), torch_resize(tiny, whole, 4, 4, false),
                              1e-6, 1e-6));
  // Non-integer factors and a crop box away from the origin.
  const auto img = random_image(20, 24, 2);
  const CropBox box{3, 5, 7, 9};
  const auto got = run_resize(img, box, 17, 13);
  const auto want = torch_resize(img, box, 17, 13, false);
  EXPECT_TRUE(torch::allclose(got, want, 1e-5, 1e-6))
      << "max abs diff " << (got - want).abs().max().item<float>();
}

TEST(ResizeTest, DownscaleMatchesAntialiasedInterpolate) {
  const auto img = random_image(40, 36, 3);
  for (const CropBox& box : {CropBox{0, 0, 40, 36}, CropBox{4, 7, 29, 17}, CropBox{1, 2, 33, 31}}) {
    for (const auto& [oh, ow] : {std::pair<int64_t, int64_t>{13, 9}, {32, 16}, {5, 5}}) {
      const auto got = run_resize(img, box, oh, ow);
      const auto want = torch_resize(img, box, oh, ow, true);
      EXPECT_TRUE(torch::allclose(got, want, 1e-5, 1e-5))
          << "box (" << box.height << "x" << box.width << ") -> " << oh << "x" << ow
          << ", max abs diff " << (got - want).abs().max().item<float>();
    }
  }
}

TEST(ResizeTest, DownscaleKeepsConstantImageConstant) {
  const auto img = torch::full({3, 32, 32}, 173, torch::kUInt8);
  const auto out = run_resize(img, CropBox{2, 3, 29, 27}, 7, 11);
  EXPECT_TRUE(torch::allclose(out, torch::full_like(out, 173.0f / 255.0f), 0, 1e-6));
}

TEST(ResizeTest, IdentitySizeReturnsInputExactly) {
  const auto img = random_image(32, 32, 4);
  EXPECT_TRUE(torch::equal(run_resize(img, CropBox{0, 0, 32, 32}, 32, 32),
                           img.to(torch::kFloat32).div(255.0)));
  const auto sub = run_resize(img, CropBox{5, 6, 10, 12}, 10, 12);
  EXPECT_TRUE(
      torch::equal(sub, img.slice(1, 5, 15).slice(2, 6, 18).to(torch::kFloat32).div(255.0)));
}

TEST(ResizeTest, FlipFlagMirrorsTheOutput) {
  const auto img = random_image(30, 26, 5);
  const CropBox box{2, 1, 21, 19};
  auto plain = run_resize(img, box, 16, 24);
  const auto flipped = run_resize(img, box, 16, 24, true);
  EXPECT_TRUE(torch::equal(flipped, plain.flip({2})));
  hflip(plain.data_ptr<float>(), 3, 16, 24);
  EXPECT_TRUE(torch::equal(flipped, plain));
}

class ColorOpsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    torch::manual_seed(11);
    x_ = torch::rand({3, 6, 5});
  }
  int64_t n() const { return x_.size(1) * x_.size(2); }
  torch::Tensor x_;  // (3, 6, 5) float in [0, 1)
};

TEST_F(ColorOpsTest, BrightnessScalesAndClamps) {
  for (float f : {0.3f, 1.7f}) {
    auto y = x_.clone();
    adjust_brightness(y.data_ptr<float>(), n(), f);
    EXPECT_TRUE(torch::allclose(y, (x_ * f).clamp(0, 1), 0, 1e-6)) << "factor " << f;
  }
}

TEST_F(ColorOpsTest, ContrastBlendsWithGrayscaleMean) {
  for (float f : {0.2f, 1.8f}) {
    auto y = x_.clone();
    adjust_contrast(y.data_ptr<float>(), n(), f);
    const auto m = luma_of(x_).mean();
    EXPECT_TRUE(torch::allclose(y, (f * x_ + (1 - f) * m).clamp(0, 1), 0, 1e-6)) << "factor " << f;
  }
}

TEST_F(ColorOpsTest, SaturationBlendsWithGrayscaleAndZeroGivesGrayscale) {
  auto y = x_.clone();
  adjust_saturation(y.data_ptr<float>(), n(), 1.6f);
  EXPECT_TRUE(torch::allclose(y, (1.6f * x_ - 0.6f * luma_of(x_)).clamp(0, 1), 0, 1e-6));
  auto g = x_.clone();
  adjust_saturation(g.data_ptr<float>(), n(), 0.0f);
  const auto l = luma_of(x_);
  for (int64_t c = 0; c < 3; ++c) EXPECT_TRUE(torch::allclose(g[c], l, 0, 1e-6)) << "channel " << c;
}

TEST_F(ColorOpsTest, HueShiftOfZeroIsIdentity) {
  auto y = x_.clone();
  adjust_hue(y.data_ptr<float>(), n(), 0.0f);
  EXPECT_TRUE(torch::allclose(y, x_, 0, 1e-6));
  JitterParams p;
  p.enabled[JitterParams::kHue] = true;
  p.hue = 0.0f;
  auto z = x_.clone();
  apply_color_jitter(z.data_ptr<float>(), n(), p);
  EXPECT_TRUE(torch::equal(z, x_));
}

TEST(HueTest, ThirdTurnMapsRedToGreenAndGreenToBlue) {
  float px[3] = {1.0f, 0.0f, 0.0f};
  adjust_hue(px, 1, 1.0f / 3.0f);
  EXPECT_NEAR(px[0], 0.0f, 1e-6);
  EXPECT_NEAR(px[1], 1.0f, 1e-6);
  EXPECT_NEAR(px[2], 0.0f, 1e-6);
  adjust_hue(px, 1, 1.0f / 3.0f);
  EXPECT_NEAR(px[0], 0.0f, 1e-6);
  EXPECT_NEAR(px[1], 0.0f, 1e-6);
  EXPECT_NEAR(px[2], 1.0f, 1e-6);
  adjust_hue(px, 1, -2.0f / 3.0f - 1.0f);  // negative and whole turns wrap: blue -> red
  EXPECT_NEAR(px[0], 1.0f, 1e-6);
  EXPECT_NEAR(px[1], 0.0f, 1e-6);
  EXPECT_NEAR(px[2], 0.0f, 1e-6);
}

TEST(HueTest, RgbHsvRoundTripOnRandomPixels) {
  Rng rng(5);
  for (int i = 0; i < 100000; ++i) {
    const float r = static_cast<float>(rng.uniform());
    const float g = i % 7 == 0 ? r : static_cast<float>(rng.uniform());  // include ties
    const float b = static_cast<float>(rng.uniform());
    float h, s, v, r2, g2, b2;
    rgb_to_hsv(r, g, b, h, s, v);
    ASSERT_GE(h, 0.0f);
    ASSERT_LT(h, 1.0f);
    hsv_to_rgb(h, s, v, r2, g2, b2);
    ASSERT_NEAR(r2, r, 1e-5) << "rgb " << r << " " << g << " " << b;
    ASSERT_NEAR(g2, g, 1e-5) << "rgb " << r << " " << g << " " << b;
    ASSERT_NEAR(b2, b, 1e-5) << "rgb " << r << " " << g << " " << b;
  }
}

TEST_F(ColorOpsTest, GrayscaleCopiesLumaToEveryChannel) {
  auto y = x_.clone();
  to_grayscale(y.data_ptr<float>(), n());
  const auto l = luma_of(x_);
  for (int64_t c = 0; c < 3; ++c) EXPECT_TRUE(torch::allclose(y[c], l, 0, 1e-6)) << "channel " << c;
}

TEST_F(ColorOpsTest, NormalizeInplaceMatchesClosedForm) {
  Normalization norm;
  norm.mean = {0.491f, 0.482f, 0.447f};
  norm.std = {0.247f, 0.243f, 0.262f};
  auto y = x_.clone();
  normalize_inplace(y.data_ptr<float>(), n(), norm);
  const auto mean = torch::tensor({0.491f, 0.482f, 0.447f}).view({3, 1, 1});
  const auto std = torch::tensor({0.247f, 0.243f, 0.262f}).view({3, 1, 1});
  EXPECT_TRUE(torch::allclose(y, (x_ - mean) / std, 1e-6, 1e-6));
}

Normalization test_norm() {
  Normalization norm;
  norm.mean = {0.491f, 0.482f, 0.447f};
  norm.std = {0.247f, 0.243f, 0.262f};
  return norm;
}

// (x / 255 - mean) / std of a (3, h, w) uint8 image with LibTorch's float ops.
torch::Tensor torch_normalize(const torch::Tensor& image, const Normalization& norm) {
  const auto mean = torch::tensor({norm.mean[0], norm.mean[1], norm.mean[2]}).view({3, 1, 1});
  const auto std = torch::tensor({norm.std[0], norm.std[1], norm.std[2]}).view({3, 1, 1});
  return image.to(torch::kFloat32).div(255.0).sub(mean).div(std);
}

// crop_normalize of `image` ((3, H, W) uint8) -> (3, side, side) float.
torch::Tensor run_crop(const torch::Tensor& image, int64_t top, int64_t left, int64_t side,
                       bool flip, const NormalizeTable& table) {
  torch::Tensor out = torch::empty({3, side, side}, torch::kFloat32);
  crop_normalize(image.data_ptr<uint8_t>(), image.size(1), image.size(2), top, left, side, flip,
                 table, out.data_ptr<float>());
  return out;
}

TEST(CropNormalizeTest, TableEqualsTorchNormalizeOfEveryLevel) {
  const Normalization norm = test_norm();
  const NormalizeTable table = make_normalize_table(norm);
  const auto levels =
      torch::arange(256, torch::kInt32).to(torch::kUInt8).view({1, 1, 256}).expand({3, 1, 256});
  const auto want = torch_normalize(levels.contiguous(), norm).view({3, 256});
  for (int64_t c = 0; c < 3; ++c) {
    const auto got = torch::from_blob(const_cast<float*>(table.value[c].data()), {256});
    EXPECT_TRUE(torch::equal(got, want[c])) << "channel " << c;
  }
}

TEST(CropNormalizeTest, WindowsOfTheZeroPaddedImage) {
  const Normalization norm = test_norm();
  const NormalizeTable table = make_normalize_table(norm);
  const auto image = random_image(7, 9, 21);
  const int64_t p = 5;  // more than the window, so windows fully in the padding exist too
  const auto padded = torch_normalize(torch::constant_pad_nd(image, {p, p, p, p}, 0), norm);
  for (const int64_t side : {1, 4, 7}) {
    for (int64_t top = -p; top + side <= 7 + p; ++top) {
      for (int64_t left = -p; left + side <= 9 + p; ++left) {
        const auto want =
            padded.slice(1, top + p, top + p + side).slice(2, left + p, left + p + side);
        EXPECT_TRUE(torch::equal(run_crop(image, top, left, side, false, table), want))
            << "side " << side << " top " << top << " left " << left;
        EXPECT_TRUE(torch::equal(run_crop(image, top, left, side, true, table), want.flip({2})))
            << "flipped, side " << side << " top " << top << " left " << left;
      }
    }
  }
}

TEST(JitterParamsTest, DrawsPermutationsAndFactorsInRange) {
  AugmentConfig config;  // brightness, contrast, saturation 0.8, hue 0.2
  Rng rng(9);
  std::set<std::array<int, 4>> orders;
  for (int i = 0; i < 2000; ++i) {
    const JitterParams p = draw_jitter_params(config, rng);
    std::array<int, 4> sorted = p.order;
    std::sort(sorted.begin(), sorted.end());
    ASSERT_EQ(sorted, (std::array<int, 4>{0, 1, 2, 3}));
    orders.insert(p.order);
    for (bool e : p.enabled) EXPECT_TRUE(e);
    for (float f : {p.brightness, p.contrast, p.saturation}) {
      EXPECT_GE(f, 0.2f - 1e-6f);
      EXPECT_LE(f, 1.8f + 1e-6f);
    }
    EXPECT_GE(p.hue, -0.2f - 1e-6f);
    EXPECT_LE(p.hue, 0.2f + 1e-6f);
  }
  EXPECT_EQ(orders.size(), 24u);  // every order of the 4 ops occurs
}

TEST(JitterParamsTest, ZeroStrengthDisablesTheOpAndDrawsNoFactor) {
  AugmentConfig config;
  config.brightness = 0;
  config.hue = 0;
  config.contrast = 1.5;  // lower bound clamps at 0
  Rng rng(2);
  for (int i = 0; i < 500; ++i) {
    const JitterParams p = draw_jitter_params(config, rng);
    EXPECT_FALSE(p.enabled[JitterParams::kBrightness]);
    EXPECT_FALSE(p.enabled[JitterParams::kHue]);
    EXPECT_TRUE(p.enabled[JitterParams::kContrast]);
    EXPECT_GE(p.contrast, 0.0f);
    EXPECT_LE(p.contrast, 2.5f + 1e-6f);
  }
  // With every strength 0 the jitter is the identity.
  config.contrast = 0;
  config.saturation = 0;
  const JitterParams p = draw_jitter_params(config, rng);
  float px[3] = {0.1f, 0.5f, 0.9f};
  apply_color_jitter(px, 1, p);
  EXPECT_EQ(px[0], 0.1f);
  EXPECT_EQ(px[1], 0.5f);
  EXPECT_EQ(px[2], 0.9f);
}

TEST(JitterParamsTest, AppliesOpsInTheDrawnOrder) {
  torch::manual_seed(3);
  const auto x = torch::rand({3, 4, 4});
  JitterParams p;
  p.enabled = {true, true, false, false};
  p.brightness = 1.5f;
  p.contrast = 0.5f;
  auto bc = x.clone();
  p.order = {JitterParams::kBrightness, JitterParams::kContrast, JitterParams::kSaturation,
             JitterParams::kHue};
  apply_color_jitter(bc.data_ptr<float>(), 16, p);
  auto cb = x.clone();
  p.order = {JitterParams::kContrast, JitterParams::kHue, JitterParams::kBrightness,
             JitterParams::kSaturation};
  apply_color_jitter(cb.data_ptr<float>(), 16, p);
  auto want_bc = x.clone();
  adjust_brightness(want_bc.data_ptr<float>(), 16, 1.5f);
  adjust_contrast(want_bc.data_ptr<float>(), 16, 0.5f);
  auto want_cb = x.clone();
  adjust_contrast(want_cb.data_ptr<float>(), 16, 0.5f);
  adjust_brightness(want_cb.data_ptr<float>(), 16, 1.5f);
  EXPECT_TRUE(torch::equal(bc, want_bc));
  EXPECT_TRUE(torch::equal(cb, want_cb));
  EXPECT_FALSE(torch::equal(bc, cb));
}

// Runs torchvision's tensor colour ops on the same input through
// RELNET_PYTHON; skipped when that interpreter lacks torchvision.
TEST(TorchvisionParityTest, ColorOpsMatchTorchvisionTensorOps) {
  const auto dir = std::filesystem::temp_directory_path() / "relnet_transforms_test";
  std::filesystem::create_directories(dir);
  const auto in_path = (dir / "in.f32").string();
  const auto out_path = (dir / "out.f32").string();
  std::filesystem::remove(out_path);
  torch::manual_seed(21);
  const auto x = torch::rand({3, 9, 7});
  {
    std::ofstream f(in_path, std::ios::binary);
    f.write(reinterpret_cast<const char*>(x.data_ptr<float>()),
            static_cast<std::streamsize>(x.numel() * sizeof(float)));
  }
  const std::string script =
      "import sys, torch\n"
      "import torchvision.transforms.functional as F\n"
      "x = torch.from_file(sys.argv[1], size=3*9*7, dtype=torch.float32).view(3, 9, 7)\n"
      "outs = [F.adjust_brightness(x, 1.3), F.adjust_brightness(x, 0.4),\n"
      "        F.adjust_contrast(x, 0.6), F.adjust_contrast(x, 1.7),\n"
      "        F.adjust_saturation(x, 1.7), F.adjust_saturation(x, 0.3),\n"
      "        F.adjust_hue(x, 0.17), F.adjust_hue(x, -0.2), F.adjust_hue(x, 0.5)]\n"
      "torch.stack(outs).numpy().tofile(sys.argv[2])\n";
  const auto script_path = (dir / "tv_color.py").string();
  std::ofstream(script_path) << script;
  const std::string cmd = std::string(RELNET_PYTHON) + " " + script_path + " " + in_path + " " +
                          out_path + " 2>/dev/null";
  if (std::system(cmd.c_str()) != 0 || !std::filesystem::exists(out_path)) {
    GTEST_SKIP() << RELNET_PYTHON << " with torchvision is not available";
  }
  auto want = torch::empty({9, 3, 9, 7}, torch::kFloat32);
  {
    std::ifstream f(out_path, std::ios::binary);
    f.read(reinterpret_cast<char*>(want.data_ptr<float>()),
           static_cast<std::streamsize>(want.numel() * sizeof(float)));
    ASSERT_TRUE(f) << "short read of " << out_path;
  }
  const int64_t n = 63;
  std::vector<torch::Tensor> got;
  auto run = [&](void (*op)(float*, int64_t, float), float f) {
    auto y = x.clone();
    op(y.data_ptr<float>(), n, f);
    got.push_back(y);
  };
  run(adjust_brightness, 1.3f);
  run(adjust_brightness, 0.4f);
  run(adjust_contrast, 0.6f);
  run(adjust_contrast, 1.7f);
  run(adjust_saturation, 1.7f);
  run(adjust_saturation, 0.3f);
  run(adjust_hue, 0.17f);
  run(adjust_hue, -0.2f);
  run(adjust_hue, 0.5f);
  // torchvision's tensor grayscale uses 0.2989 for red (PIL and we use 0.299),
  // hence 1e-4 rather than float rounding for contrast and saturation.
  const char* names[] = {"brightness 1.3", "brightness 0.4", "contrast 0.6",
                         "contrast 1.7",   "saturation 1.7", "saturation 0.3",
                         "hue 0.17",       "hue -0.2",       "hue 0.5"};
  for (int64_t i = 0; i < 9; ++i) {
    EXPECT_TRUE(torch::allclose(got[static_cast<size_t>(i)], want[i], 0, 1e-4))
        << names[i] << ": max abs diff "
        << (got[static_cast<size_t>(i)] - want[i]).abs().max().item<float>();
  }
}

}  // namespace
}  // namespace relnet
