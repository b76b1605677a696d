// Per-view transforms of the augmentation pipeline: tight loops over planar
// float buffers, no torch ops, all randomness from the caller's Rng.
#include "relnet/augment/transforms.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <utility>

#include "kernels/simd.h"

namespace relnet {
namespace {

// Python's round(): half to even (the default floating-point rounding mode).
int64_t round_half_even(double x) { return static_cast<int64_t>(std::nearbyint(x)); }

double triangle(double x) {
  x = std::fabs(x);
  return x < 1.0 ? 1.0 - x : 0.0;
}

RELNET_INLINE float clamp01(float x) { return std::min(std::max(x, 0.0f), 1.0f); }

RELNET_INLINE float luma(float r, float g, float b) { return kLumaR * r + kLumaG * g + kLumaB * b; }

// c ? a : b as a bitwise blend. Plain selects let GCC sink the arm that only
// one side uses into a branch, and (under -ftrapping-math) a branch holding
// float arithmetic blocks vectorization; a blend keeps every arm unconditional.
RELNET_INLINE float pick(bool c, float a, float b) {
  uint32_t ua, ub;
  std::memcpy(&ua, &a, sizeof ua);
  std::memcpy(&ub, &b, sizeof ub);
  const uint32_t mask = 0u - static_cast<uint32_t>(c);
  const uint32_t out = (ua & mask) | (ub & ~mask);
  float f;
  std::memcpy(&f, &out, sizeof f);
  return f;
}

// torchvision's _rgb2hsv (h in [0, 1), s in [0, 1], v = max) without branches.
RELNET_INLINE void rgb_to_hsv_inline(float r, float g, float b, float& h, float& s, float& v) {
  const float maxc = std::max(r, std::max(g, b));
  const float minc = std::min(r, std::min(g, b));
  const bool eqc = maxc == minc;
  const float cr = maxc - minc;
  // torchvision divides by 1 where maxc == minc; there cr = 0 and every
  // numerator is 0, so any nonzero divisor gives the same result.
  const float one_if_eq = pick(eqc, 1.0f, 0.0f);
  const float sdiv = maxc + one_if_eq;
  const float div = cr + one_if_eq;
  s = cr / sdiv;
  const float rc = (maxc - r) / div;
  const float gc = (maxc - g) / div;
  const float bc = (maxc - b) / div;
  const float hr = bc - gc;
  const float hg = 2.0f + rc - bc;
  const float hb = 4.0f + gc - rc;
  const float hue = pick(maxc == r, hr, pick(maxc == g, hg, hb));
  const float h1 = hue / 6.0f + 1.0f;  // in [5/6, 11/6]: fmod(h1, 1) is one exact subtraction
  h = pick(h1 >= 1.0f, h1 - 1.0f, h1);
  v = maxc;
}

// torchvision's _hsv2rgb for h in [0, 1] (h * 6 >= 0, so truncation is floor).
RELNET_INLINE void hsv_to_rgb_inline(float h, float s, float v, float& r, float& g, float& b) {
  const float h6 = h * 6.0f;
  const float floor_h6 = static_cast<float>(static_cast<int32_t>(h6));
  const float f = h6 - floor_h6;
  const float sector = pick(floor_h6 >= 6.0f, floor_h6 - 6.0f, floor_h6);  // i % 6
  const float p = clamp01(v * (1.0f - s));
  const float q = clamp01(v * (1.0f - s * f));
  const float t = clamp01(v * (1.0f - s * (1.0f - f)));
  // Sector 0..5 gives (v,t,p), (q,v,p), (p,v,t), (p,q,v), (t,p,v), (v,p,q).
  const bool s0 = sector == 0.0f, s1 = sector == 1.0f, s2 = sector == 2.0f;
  const bool s3 = sector == 3.0f, s4 = sector == 4.0f;
  r = pick(s0, v, pick(s1, q, pick(s2, p, pick(s3, p, pick(s4, t, v)))));
  g = pick(s0, t, pick(s1, v, pick(s2, v, pick(s3, q, pick(s4, p, p)))));
  b = pick(s0, p, pick(s1, p, pick(s2, t, pick(s3, v, pick(s4, v, q)))));
}

}  // namespace

CropBox random_resized_crop_params(int64_t height, int64_t width, double scale_min,
                                   double scale_max, double ratio_min, double ratio_max, Rng& rng) {
  const double area = static_cast<double>(height) * static_cast<double>(width);
  const double log_rmin = std::log(ratio_min);
  const double log_rmax = std::log(ratio_max);
  for (int attempt = 0; attempt < 10; ++attempt) {
    const double target_area = area * rng.uniform(scale_min, scale_max);
    const double aspect = std::exp(rng.uniform(log_rmin, log_rmax));
    const int64_t w = round_half_even(std::sqrt(target_area * aspect));
    const int64_t h = round_half_even(std::sqrt(target_area / aspect));
    if (w > 0 && w <= width && h > 0 && h <= height) {
      CropBox box;
      box.height = h;
      box.width = w;
      box.top = rng.randint(0, height - h);
      box.left = rng.randint(0, width - w);
      return box;
    }
  }
  // Fallback: centred crop with the aspect ratio clamped to the range.
  const double in_ratio = static_cast<double>(width) / static_cast<double>(height);
  int64_t w = width;
  int64_t h = height;
  if (in_ratio < ratio_min) {
    h = round_half_even(static_cast<double>(w) / ratio_min);
  } else if (in_ratio > ratio_max) {
    w = round_half_even(static_cast<double>(h) * ratio_max);
  }
  CropBox box;
  box.height = std::clamp<int64_t>(h, 1, height);
  box.width = std::clamp<int64_t>(w, 1, width);
  box.top = (height - box.height) / 2;
  box.left = (width - box.width) / 2;
  return box;
}

void build_resize_axis(int64_t in_size, int64_t out_size, bool reverse, ResizeAxis& axis) {
  // PIL's precompute_coeffs (Resample.c) for the bilinear (triangle) filter.
  const double scale = static_cast<double>(in_size) / static_cast<double>(out_size);
  const double filterscale = std::max(scale, 1.0);
  const double support = filterscale;  // triangle support 1, widened when downscaling
  const double inv_filterscale = 1.0 / filterscale;
  // Input window [xmin, xmax) of output pixel i: C-style truncation toward
  // zero, then clamped, as in PIL.
  auto window = [&](int64_t i, double& center, int64_t& xmin, int64_t& xmax) {
    center = (static_cast<double>(i) + 0.5) * scale;
    xmin = std::max<int64_t>(static_cast<int64_t>(center - support + 0.5), 0);
    xmax = std::min<int64_t>(static_cast<int64_t>(center + support + 0.5), in_size);
  };
  int64_t taps = 1;
  for (int64_t i = 0; i < out_size; ++i) {
    double center;
    int64_t xmin, xmax;
    window(i, center, xmin, xmax);
    taps = std::max(taps, xmax - xmin);
  }

  axis.in_size = in_size;
  axis.out_size = out_size;
  axis.taps = taps;
  axis.start.assign(static_cast<size_t>(out_size), 0);
  axis.weights.assign(static_cast<size_t>(out_size * taps), 0.0f);
  axis.scratch.resize(static_cast<size_t>(taps));
  double* wbuf = axis.scratch.data();
  for (int64_t i = 0; i < out_size; ++i) {
    double center;
    int64_t xmin, xmax;
    window(i, center, xmin, xmax);
    const int64_t count = xmax - xmin;
    double total = 0.0;
    for (int64_t k = 0; k < count; ++k) {
      wbuf[k] = triangle((static_cast<double>(k + xmin) - center + 0.5) * inv_filterscale);
      total += wbuf[k];
    }
    const int64_t start = std::min<int64_t>(xmin, in_size - taps);
    const int64_t row = reverse ? out_size - 1 - i : i;
    axis.start[static_cast<size_t>(row)] = static_cast<int32_t>(start);
    float* dst = axis.weights.data() + row * taps + (xmin - start);
    for (int64_t k = 0; k < count; ++k) {
      dst[k] = static_cast<float>(total != 0.0 ? wbuf[k] / total : wbuf[k]);
    }
  }
}

namespace {

// One row of the horizontal pass: dst[o] = sum_k w[o*T + k] * src[start[o] + k].
// T > 0 is the compile-time tap count; T == 0 reads it from `taps`.
template <int T>
void resample_row(const float* src, const int32_t* start, const float* weights, int64_t taps,
                  int64_t out_w, float* dst) {
  const int64_t t = T > 0 ? T : taps;
  for (int64_t o = 0; o < out_w; ++o) {
    const float* s = src + start[o];
    const float* w = weights + o * t;
    float acc = 0.0f;
    for (int64_t k = 0; k < t; ++k) acc += w[k] * s[k];
    dst[o] = acc;
  }
}

}  // namespace

void resize_crop(const uint8_t* image, int64_t height, int64_t width, const CropBox& box,
                 int64_t out_h, int64_t out_w, bool flip, ResizeWorkspace& ws, float* out) {
  build_resize_axis(box.width, out_w, flip, ws.x);
  build_resize_axis(box.height, out_h, false, ws.y);
  const int64_t bh = box.height;
  const int64_t bw = box.width;

  // The crop as float: (3, bh, bw).
  ws.src.resize(static_cast<size_t>(3 * bh * bw));
  for (int64_t c = 0; c < 3; ++c) {
    for (int64_t r = 0; r < bh; ++r) {
      const uint8_t* s = image + (c * height + box.top + r) * width + box.left;
      float* d = ws.src.data() + (c * bh + r) * bw;
      for (int64_t x = 0; x < bw; ++x) d[x] = static_cast<float>(s[x]);
    }
  }

  // Horizontal pass: (3, bh, bw) -> (3, bh, out_w).
  ws.tmp.resize(static_cast<size_t>(3 * bh * out_w));
  const int64_t tx = ws.x.taps;
  auto row_fn = tx == 1   ? &resample_row<1>
                : tx == 2 ? &resample_row<2>
                : tx == 3 ? &resample_row<3>
                : tx == 4 ? &resample_row<4>
                          : &resample_row<0>;
  for (int64_t r = 0; r < 3 * bh; ++r) {
    row_fn(ws.src.data() + r * bw, ws.x.start.data(), ws.x.weights.data(), tx, out_w,
           ws.tmp.data() + r * out_w);
  }

  // Vertical pass: (3, bh, out_w) -> (3, out_h, out_w), then / 255.
  const int64_t ty = ws.y.taps;
  for (int64_t c = 0; c < 3; ++c) {
    const float* plane = ws.tmp.data() + c * bh * out_w;
    for (int64_t o = 0; o < out_h; ++o) {
      float* dst = out + (c * out_h + o) * out_w;
      const float* rows = plane + static_cast<int64_t>(ws.y.start[static_cast<size_t>(o)]) * out_w;
      const float* w = ws.y.weights.data() + o * ty;
      const float w0 = w[0];
      for (int64_t x = 0; x < out_w; ++x) dst[x] = w0 * rows[x];
      for (int64_t k = 1; k < ty; ++k) {
        const float wk = w[k];
        const float* row = rows + k * out_w;
        for (int64_t x = 0; x < out_w; ++x) dst[x] += wk * row[x];
      }
      for (int64_t x = 0; x < out_w; ++x) dst[x] /= 255.0f;
    }
  }
}

void hflip(float* img, int64_t channels, int64_t height, int64_t width) {
  for (int64_t r = 0; r < channels * height; ++r) {
    std::reverse(img + r * width, img + (r + 1) * width);
  }
}

RELNET_SIMD void adjust_brightness(float* img, int64_t n, float factor) {
  for (int64_t i = 0; i < 3 * n; ++i) img[i] = clamp01(img[i] * factor);
}

RELNET_SIMD void adjust_contrast(float* img, int64_t n, float factor) {
  const float* r = img;
  const float* g = img + n;
  const float* b = img + 2 * n;
  double sum = 0.0;
  for (int64_t i = 0; i < n; ++i) sum += luma(r[i], g[i], b[i]);
  const float mean = static_cast<float>(sum / static_cast<double>(n));
  const float offset = static_cast<float>(1.0 - static_cast<double>(factor)) * mean;
  for (int64_t i = 0; i < 3 * n; ++i) img[i] = clamp01(factor * img[i] + offset);
}

RELNET_SIMD void adjust_saturation(float* img, int64_t n, float factor) {
  float* r = img;
  float* g = img + n;
  float* b = img + 2 * n;
  const float rest = static_cast<float>(1.0 - static_cast<double>(factor));
  for (int64_t i = 0; i < n; ++i) {
    const float l = rest * luma(r[i], g[i], b[i]);
    r[i] = clamp01(factor * r[i] + l);
    g[i] = clamp01(factor * g[i] + l);
    b[i] = clamp01(factor * b[i] + l);
  }
}

void rgb_to_hsv(float r, float g, float b, float& h, float& s, float& v) {
  rgb_to_hsv_inline(r, g, b, h, s, v);
}

void hsv_to_rgb(float h, float s, float v, float& r, float& g, float& b) {
  hsv_to_rgb_inline(h, s, v, r, g, b);
}

RELNET_SIMD void adjust_hue(float* img, int64_t n, float shift) {
  float* r = img;
  float* g = img + n;
  float* b = img + 2 * n;
  shift -= std::nearbyint(shift);  // whole turns off; no-op on torchvision's [-0.5, 0.5]
  for (int64_t i = 0; i < n; ++i) {
    float h, s, v;
    rgb_to_hsv_inline(r[i], g[i], b[i], h, s, v);
    h += shift;  // in [-0.5, 1.5); Python-style mod 1 below
    h = pick(h < 0.0f, h + 1.0f, pick(h >= 1.0f, h - 1.0f, h));
    hsv_to_rgb_inline(h, s, v, r[i], g[i], b[i]);
  }
}

RELNET_SIMD void to_grayscale(float* img, int64_t n) {
  float* r = img;
  float* g = img + n;
  float* b = img + 2 * n;
  for (int64_t i = 0; i < n; ++i) {
    const float l = luma(r[i], g[i], b[i]);
    r[i] = l;
    g[i] = l;
    b[i] = l;
  }
}

RELNET_SIMD void normalize_inplace(float* img, int64_t n, const Normalization& norm) {
  for (int64_t c = 0; c < 3; ++c) {
    const float m = norm.mean[static_cast<size_t>(c)];
    const float s = norm.std[static_cast<size_t>(c)];
    float* x = img + c * n;
    for (int64_t i = 0; i < n; ++i) x[i] = (x[i] - m) / s;
  }
}

NormalizeTable make_normalize_table(const Normalization& norm) {
  NormalizeTable table;
  for (size_t c = 0; c < 3; ++c) {
    for (int v = 0; v < 256; ++v) {
      table.value[c][static_cast<size_t>(v)] =
          (static_cast<float>(v) / 255.0f - norm.mean[c]) / norm.std[c];
    }
  }
  return table;
}

namespace {

// One output row of crop_normalize: source columns left .. left + side - 1 of
// `row` (nullptr: a row of the padding), mirrored when `flip`; columns
// outside [0, width) are padding (lut[0]).
void crop_row(const uint8_t* row, int64_t width, int64_t left, int64_t side, bool flip,
              const float* lut, float* dst) {
  const float pad = lut[0];
  if (row == nullptr) {
    std::fill(dst, dst + side, pad);
    return;
  }
  // Output x (before mirroring) reads column left + x: inside for x in [lo, hi).
  const int64_t lo = std::clamp<int64_t>(-left, 0, side);
  const int64_t hi = std::clamp<int64_t>(width - left, lo, side);
  if (!flip) {
    std::fill(dst, dst + lo, pad);
    for (int64_t x = lo; x < hi; ++x) dst[x] = lut[row[left + x]];
    std::fill(dst + hi, dst + side, pad);
  } else {  // output x lands at side - 1 - x
    std::fill(dst, dst + (side - hi), pad);
    for (int64_t x = lo; x < hi; ++x) dst[side - 1 - x] = lut[row[left + x]];
    std::fill(dst + (side - lo), dst + side, pad);
  }
}

}  // namespace

void crop_normalize(const uint8_t* image, int64_t height, int64_t width, int64_t top, int64_t left,
                    int64_t side, bool flip, const NormalizeTable& table, float* out) {
  for (size_t c = 0; c < 3; ++c) {
    const uint8_t* plane = image + static_cast<int64_t>(c) * height * width;
    const float* lut = table.value[c].data();
    for (int64_t y = 0; y < side; ++y) {
      const int64_t sy = top + y;
      const uint8_t* row = sy >= 0 && sy < height ? plane + sy * width : nullptr;
      crop_row(row, width, left, side, flip, lut,
               out + (static_cast<int64_t>(c) * side + y) * side);
    }
  }
}

JitterParams draw_jitter_params(const AugmentConfig& config, Rng& rng) {
  JitterParams p;
  for (int i = 3; i > 0; --i) {
    const int j = static_cast<int>(rng.below(static_cast<uint64_t>(i) + 1));
    std::swap(p.order[static_cast<size_t>(i)], p.order[static_cast<size_t>(j)]);
  }
  auto factor = [&rng](double x) {
    return static_cast<float>(rng.uniform(std::max(0.0, 1.0 - x), 1.0 + x));
  };
  if (config.brightness > 0) {
    p.enabled[JitterParams::kBrightness] = true;
    p.brightness = factor(config.brightness);
  }
  if (config.contrast > 0) {
    p.enabled[JitterParams::kContrast] = true;
    p.contrast = factor(config.contrast);
  }
  if (config.saturation > 0) {
    p.enabled[JitterParams::kSaturation] = true;
    p.saturation = factor(config.saturation);
  }
  if (config.hue > 0) {
    p.enabled[JitterParams::kHue] = true;
    p.hue = static_cast<float>(rng.uniform(-config.hue, config.hue));
  }
  return p;
}

void apply_color_jitter(float* img, int64_t n, const JitterParams& params) {
  for (int op : params.order) {
    if (!params.enabled[static_cast<size_t>(op)]) continue;
    switch (op) {
      case JitterParams::kBrightness:
        if (params.brightness != 1.0f) adjust_brightness(img, n, params.brightness);
        break;
      case JitterParams::kContrast:
        if (params.contrast != 1.0f) adjust_contrast(img, n, params.contrast);
        break;
      case JitterParams::kSaturation:
        if (params.saturation != 1.0f) adjust_saturation(img, n, params.saturation);
        break;
      default:
        if (params.hue != 0.0f) adjust_hue(img, n, params.hue);
        break;
    }
  }
}

}  // namespace relnet
