// The individual per-view transforms behind ViewAugmenter (torchvision
// semantics, REFERENCE.md): crop parameters, PIL-style bilinear resize, flip,
// colour-jitter ops, grayscale and Normalize, and the zero-padded crop of
// RandomCrop(padding), as tight loops on raw buffers.
#pragma once

#include <array>
#include <cstdint>
#include <vector>

#include "relnet/augment/augment_config.h"
#include "relnet/data/dataset.h"
#include "relnet/util/rng.h"

namespace relnet {

// Luma weights of RGB -> grayscale (ITU-R 601-2, as PIL's "L" mode).
inline constexpr float kLumaR = 0.299f;
inline constexpr float kLumaG = 0.587f;
inline constexpr float kLumaB = 0.114f;

// A crop box in pixels; always inside the image it was drawn for.
struct CropBox {
  int64_t top = 0;
  int64_t left = 0;
  int64_t height = 0;
  int64_t width = 0;
};

// torchvision's RandomResizedCrop.get_params for a `height` x `width` image:
// up to 10 draws of area fraction U(scale_min, scale_max) and log-uniform
// aspect ratio in [ratio_min, ratio_max], rounded half-to-even like Python;
// the first box that fits gets a uniform top/left. Otherwise a centred box
// whose ratio is clamped to the range (at least 1 pixel per side).
// Requires height, width >= 1, 0 < scale_min <= scale_max, 0 < ratio_min <= ratio_max.
CropBox random_resized_crop_params(int64_t height, int64_t width, double scale_min,
                                   double scale_max, double ratio_min, double ratio_max, Rng& rng);

// Resampling table of one axis for PIL-style bilinear resize (half-pixel
// centres, triangle filter whose support is widened by in/out when
// downscaling, weights normalised to sum 1 so edges clamp). Output pixel i
// reads input pixels start[i] .. start[i] + taps - 1 with weights
// weights[i * taps ..]; taps is the widest window, narrower windows are
// padded with weight 0 and stay in range.
struct ResizeAxis {
  int64_t in_size = 0;
  int64_t out_size = 0;
  int64_t taps = 0;
  std::vector<int32_t> start;   // (out_size)
  std::vector<float> weights;   // (out_size, taps)
  std::vector<double> scratch;  // (taps), unnormalised weights while building
};

// Fills `axis` for resampling `in_size` pixels to `out_size` (both >= 1);
// reuses its storage. With `reverse`, output pixel i gets the table of pixel
// out_size - 1 - i, i.e. the result is mirrored (a free horizontal flip).
void build_resize_axis(int64_t in_size, int64_t out_size, bool reverse, ResizeAxis& axis);

// Scratch reused across calls of resize_crop (one per thread).
struct ResizeWorkspace {
  ResizeAxis x;
  ResizeAxis y;
  std::vector<float> src;  // (3, box.height, box.width): the crop as float
  std::vector<float> tmp;  // (3, box.height, out_w) after the horizontal pass
};

// Crops `box` out of `image` ((3, height, width) uint8, CHW, contiguous) and
// resizes it to (3, out_h, out_w) float in [0, 1] (pixel / 255) into `out`,
// mirrored left-right when `flip`. Horizontal pass first, then vertical.
// Requires `box` inside the image and out_h, out_w >= 1.
void resize_crop(const uint8_t* image, int64_t height, int64_t width, const CropBox& box,
                 int64_t out_h, int64_t out_w, bool flip, ResizeWorkspace& ws, float* out);

// Mirrors every row of `img` ((channels, height, width) float) in place.
void hflip(float* img, int64_t channels, int64_t height, int64_t width);

// The colour ops below work in place on a planar RGB float image `img`
// ((3, n) with n = height * width, values in [0, 1]) and keep it in [0, 1].

// x = clamp(x * factor, 0, 1); factor >= 0.
void adjust_brightness(float* img, int64_t n, float factor);

// m = mean over the image of its grayscale; x = clamp(factor * x + (1 - factor) * m, 0, 1).
void adjust_contrast(float* img, int64_t n, float factor);

// x = clamp(factor * x + (1 - factor) * L, 0, 1), L the pixel's grayscale.
void adjust_saturation(float* img, int64_t n, float factor);

// Rotates hue by `shift` turns: RGB -> HSV, h = (h + shift) mod 1, -> RGB.
void adjust_hue(float* img, int64_t n, float shift);

// torchvision's _rgb2hsv for one pixel: h, s in [0, 1), v = max(r, g, b).
void rgb_to_hsv(float r, float g, float b, float& h, float& s, float& v);

// torchvision's _hsv2rgb for one pixel (h in [0, 1], s, v in [0, 1]).
void hsv_to_rgb(float h, float s, float v, float& r, float& g, float& b);

// Replaces every channel by L = 0.299 R + 0.587 G + 0.114 B.
void to_grayscale(float* img, int64_t n);

// x = (x - mean[c]) / std[c] per channel c of a (3, n) image.
void normalize_inplace(float* img, int64_t n, const Normalization& norm);

// Normalize of every uint8 level: value[c][v] = (v / 255 - mean[c]) / std[c],
// computed in float with the operations (and order) of normalize_images, so a
// lookup equals it bit for bit. value[c][0] is a black (zero-padding) pixel.
struct NormalizeTable {
  std::array<std::array<float, 256>, 3> value{};
};

// The table of `norm` (std > 0 expected; not checked).
NormalizeTable make_normalize_table(const Normalization& norm);

// Writes the side x side window of `image` ((3, height, width) uint8, CHW,
// contiguous) whose top-left corner is at row `top`, column `left` in image
// coordinates, normalised through `table`, to `out` ((3, side, side) float),
// mirrored left-right when `flip`: out[c][y][x] = table[c][image[c][top + y]
// [left + x']] with x' = flip ? side - 1 - x : x. The window may reach
// outside the image (negative top/left, or past the bottom/right edge):
// pixels there read as 0, i.e. torchvision's RandomCrop on the image padded
// with zeros. Requires height, width, side >= 1; allocates nothing.
void crop_normalize(const uint8_t* image, int64_t height, int64_t width, int64_t top, int64_t left,
                    int64_t side, bool flip, const NormalizeTable& table, float* out);

// One ColorJitter draw: the op order and the factors of the ops whose
// strength is > 0 (the others are skipped, as torchvision does).
struct JitterParams {
  enum Op : int { kBrightness = 0, kContrast = 1, kSaturation = 2, kHue = 3 };
  std::array<int, 4> order{kBrightness, kContrast, kSaturation, kHue};
  std::array<bool, 4> enabled{false, false, false, false};
  float brightness = 1.0f;
  float contrast = 1.0f;
  float saturation = 1.0f;
  float hue = 0.0f;
};

// Draws the order (Fisher-Yates over 4 ops) and then, for each op with
// strength > 0 in `config`, its factor: brightness, contrast, saturation
// ~ U(max(0, 1 - x), 1 + x), hue ~ U(-x, x).
JitterParams draw_jitter_params(const AugmentConfig& config, Rng& rng);

// Applies the enabled ops of `params` in its order to a (3, n) image;
// identity factors (1, or hue 0) are skipped.
void apply_color_jitter(float* img, int64_t n, const JitterParams& params);

}  // namespace relnet
