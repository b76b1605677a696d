// Fused conv3x3 (8 -> 16) -> BatchNorm2d -> ReLU -> AvgPool2d(2) for Conv4's
// second block, on 16-float vectors (src/kernels/vec16.h).
//
// Layouts. A row of the convolution's output y is kept in blocks of 16
// columns, one vector each, in the natural order: y is (N, 16, H, R), R = 16
// * blocks, zero past column W. The 3x3 taps are read from "tap rows": for a
// channel's zero-padded row r and block b, the three vectors of columns
// 16b + l - 1, 16b + l and 16b + l + 1 (kw = 0, 1, 2), side by side and
// aligned. The input's tap rows are built once per image (input_taps);
// backwards, BatchNorm's input gradient dy is written straight into tap
// rows of its own (dy_taps), shifted the other way, since the input gradient
// is the convolution of dy with the flipped weights.
//
// Passes: forward, the convolution with BatchNorm's sums (conv_forward), then
// normalisation, ReLU and pooling (pool_forward); backward, BatchNorm's
// gradient sums (backward_sums), then per image dy, the weight gradient and
// the input gradient (backward_images).
#include "relnet/models/fused_second_block.h"

#include <algorithm>
#include <cstdint>
#include <vector>

#include "kernels/batchnorm.h"
#include "kernels/float_cpu.h"
#include "kernels/vec16.h"
#include "relnet/models/fused_conv_block.h"
#include "relnet/util/parallel.h"

namespace relnet {
namespace {

using torch::Tensor;
using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

using namespace vec16;  // NOLINT(build/namespaces): the kernels' vector vocabulary

constexpr int64_t kCi = 8;   // input channels
constexpr int64_t kCo = 16;  // output channels
constexpr int64_t kTaps = kCi * 9;
// Images whose weight-gradient lanes are added in float before they go to
// the double totals.
constexpr int64_t kFlushEvery = 16;

struct Geometry {
  int64_t N, H, W;
  int64_t x_stride[4];  // the input's strides, in elements
  int64_t blocks;       // ceil(W / 16)
  int64_t Ho() const { return H / 2; }
  int64_t Wo() const { return W / 2; }
  int64_t row() const { return blocks * kLanes; }    // floats per row of y
  int64_t plane() const { return kCi * H * row(); }  // one image's input, rows padded
  // Vectors of the tap rows of C channels, padded rows 0 .. H + 1.
  int64_t tap_vectors(int64_t C) const { return C * (H + 2) * blocks * 3; }
  // The pooled gradient of one image spread over its windows' columns.
  int64_t spread_size() const { return kCo * Ho() * row(); }
};

// Tap rows: the three vectors of (channel c, padded row r, block b).
RELNET_INLINE const vec* tap_row(const vec* taps, const Geometry& g, int64_t c, int64_t r,
                                 int64_t b) {
  return taps + ((c * (g.H + 2) + r) * g.blocks + b) * 3;
}

// Writes the tap rows of a row of `blocks` vectors (zero past the image),
// block b being block(b): vector kw of block b holds columns 16b + l + kw -
// 1 (the input's taps), or 16b + l + 1 - kw with kReverse (dy's). The
// shifts are lane permutations with the neighbouring blocks, in registers:
// a vector load from an address just stored to would wait for the store to
// reach the cache, so blocks made here are handed over in registers too.
template <bool kReverse, typename Block>
RELNET_INLINE void write_tap_row(const Block& block, int64_t blocks, vec* out) {
  const ivec left = {15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30};
  const ivec right = left - 14;  // 1 .. 16
  vec prev = vec{}, cur = block(0);
  for (int64_t b = 0; b < blocks; ++b) {
    const vec next = b + 1 < blocks ? block(b + 1) : vec{};
    const vec minus = __builtin_shuffle(prev, cur, left);  // columns 16b + l - 1
    const vec plus = __builtin_shuffle(cur, next, right);  // columns 16b + l + 1
    out[b * 3] = kReverse ? plus : minus;
    out[b * 3 + 1] = cur;
    out[b * 3 + 2] = kReverse ? minus : plus;
    prev = cur;
    cur = next;
  }
}

// The next image's input, output and gradient arrays, asked for from the
// cache a part at a time while a long loop over the current image runs:
// each image's data sits in a few contiguous runs that the hardware
// prefetcher, seeing one burst at a time, fetches too late.
struct NextImage {
  const float* data[3] = {nullptr, nullptr, nullptr};
  int64_t floats[3] = {0, 0, 0};
  // Part i of `parts`.
  RELNET_INLINE void fetch(int64_t i, int64_t parts) const {
    for (int k = 0; k < 3; ++k) {
      if (data[k] == nullptr) continue;
      const int64_t begin = floats[k] * i / parts, end = floats[k] * (i + 1) / parts;
      prefetch(data[k] + begin, end - begin);
    }
  }
};

// Image n + 1's input (when contiguous: a strided one is left to the
// hardware), and its parts of y and gout where they are given; nothing when
// n is the chunk's last image.
NextImage next_image(const float* x, const float* y, const float* gout, const Geometry& g,
                     int64_t n, int64_t n1) {
  NextImage next;
  if (n + 1 >= n1) return next;
  const int64_t image = kCi * g.H * g.W;
  if (g.x_stride[0] == image && g.x_stride[3] == 1) {
    next.data[0] = x + (n + 1) * image;
    next.floats[0] = image;
  }
  if (y != nullptr) {
    next.data[1] = y + (n + 1) * kCo * g.H * g.row();
    next.floats[1] = kCo * g.H * g.row();
  }
  if (gout != nullptr) {
    next.data[2] = gout + (n + 1) * g.Ho() * g.Wo() * kCo;
    next.floats[2] = g.Ho() * g.Wo() * kCo;
  }
  return next;
}

// The input's tap rows of image n. Rows 0 and H + 1 stay zero from the
// caller's clearing, once per scratch buffer. Rows of whole blocks in
// contiguous memory are read where they are; others are first copied
// into `plane` (a row of R floats per channel and row, zero past the image).
RELNET_INLINE void input_taps(const float* x, const Geometry& g, int64_t n, float* plane,
                              vec* taps) {
  const int64_t* s = g.x_stride;
  const int64_t R = g.row();
  const bool direct = s[3] == 1 && g.W == R;
  if (!direct) {  // all copies first: the loads below find them in the cache
    for (int64_t ci = 0; ci < kCi; ++ci) {
      for (int64_t h = 0; h < g.H; ++h) {
        const float* src = x + n * s[0] + ci * s[1] + h * s[2];
        float* dst = plane + (ci * g.H + h) * R;
        for (int64_t w = 0; w < g.W; ++w) dst[w] = src[w * s[3]];
      }
    }
  }
  for (int64_t ci = 0; ci < kCi; ++ci) {
    for (int64_t h = 0; h < g.H; ++h) {
      const float* row = direct ? x + n * s[0] + ci * s[1] + h * s[2] : plane + (ci * g.H + h) * R;
      const auto block = [row](int64_t b) __attribute__((always_inline)) {
        return load(row + b * kLanes);
      };
      write_tap_row<false>(block, g.blocks, taps + ((ci * (g.H + 2) + h + 1) * g.blocks) * 3);
    }
  }
}

// One vector of output row h, block b, for O output channels: acc[o] = sum
// over input channels i and taps (kh, kw) of w[((i * 3 + kh) * 3 + kw) * O +
// o] * tap. The taps of the forward convolution are those of input row h +
// kh - 1; the input gradient's (kFlipped: dy's tap rows, the weights
// flipped) those of dy's row h + 1 - kh. Each tap is loaded once and
// multiplied into all O accumulators, which stay in registers.
template <int64_t I, int64_t O, bool kFlipped>
RELNET_INLINE void convolve_row(const vec* __restrict taps, const float* __restrict w,
                                const Geometry& g, int64_t h, int64_t b, vec* __restrict acc) {
#pragma GCC unroll 16
  for (int64_t o = 0; o < O; ++o) acc[o] = vec{};
  for (int64_t i = 0; i < I; ++i) {
#pragma GCC unroll 3
    for (int64_t kh = 0; kh < 3; ++kh) {
      const vec* t = tap_row(taps, g, i, kFlipped ? h + 2 - kh : h + kh, b);
      const float* wr = w + (i * 3 + kh) * 3 * O;  // [kw][o]
#pragma GCC unroll 3
      for (int64_t kw = 0; kw < 3; ++kw) {
        const vec tv = t[kw];
#pragma GCC unroll 16
        for (int64_t o = 0; o < O; ++o) acc[o] += wr[kw * O + o] * tv;
      }
    }
  }
}

// Lane l of the last block: 1 where column 16 (blocks - 1) + l is in the
// image, 0 past it.
vec last_block_mask(const Geometry& g) {
  vec m;
  for (int64_t l = 0; l < kLanes; ++l) m[l] = (g.blocks - 1) * kLanes + l < g.W ? 1.f : 0.f;
  return m;
}

// Forward, first pass: y = conv(x) for images [n0, n1), and per channel the
// sums of y and y^2 (float within an image, double across images). wf holds
// the weights as [ci][kh][kw][co].
RELNET_SIMD void conv_forward(const float* __restrict x, const float* __restrict wf,
                              float* __restrict y, int64_t n0, int64_t n1, const Geometry& g,
                              float* __restrict plane, vec* __restrict taps, double* __restrict sum,
                              double* __restrict sumsq) {
  const int64_t R = g.row();
  const vec mask = last_block_mask(g);
  std::fill(plane, plane + g.plane(), 0.f);
  std::fill(taps, taps + g.tap_vectors(kCi), vec{});
  for (int64_t n = n0; n < n1; ++n) {
    input_taps(x, g, n, plane, taps);
    const NextImage next = next_image(x, nullptr, nullptr, g, n, n1);
    vec s[kCo], q[kCo];
    for (int64_t c = 0; c < kCo; ++c) s[c] = q[c] = vec{};
    for (int64_t h = 0; h < g.H; ++h) {
      next.fetch(h, g.H);
      for (int64_t b = 0; b < g.blocks; ++b) {
        vec acc[kCo];
        convolve_row<kCi, kCo, false>(taps, wf, g, h, b, acc);
        const bool last = b == g.blocks - 1;
#pragma GCC unroll 16
        for (int64_t c = 0; c < kCo; ++c) {
          if (last) acc[c] *= mask;
          store(y + ((n * kCo + c) * g.H + h) * R + b * kLanes, acc[c]);
          s[c] += acc[c];
          q[c] += acc[c] * acc[c];
        }
      }
    }
    for (int64_t c = 0; c < kCo; ++c) {
      sum[c] += lane_sum(s[c]);
      sumsq[c] += lane_sum(q[c]);
    }
  }
}

// Forward, second pass: out = avgpool2(relu(scale * y + shift)) for images
// [n0, n1), channels-last (N, Ho, Wo, 16).
RELNET_SIMD void pool_forward(const float* __restrict y, float* __restrict out, int64_t n0,
                              int64_t n1, const Geometry& g, const float* scale,
                              const float* shift) {
  const int64_t R = g.row(), Ho = g.Ho(), Wo = g.Wo();
  const ivec even = {0, 2, 4, 6, 8, 10, 12, 14, 0, 2, 4, 6, 8, 10, 12, 14};
  const ivec odd = even + 1;
  vec sc[kCo], sh[kCo];
  for (int64_t c = 0; c < kCo; ++c) {
    sc[c] = splat(scale[c]);
    sh[c] = splat(shift[c]);
  }
  for (int64_t n = n0; n < n1; ++n) {
    for (int64_t ho = 0; ho < Ho; ++ho) {
      for (int64_t b = 0; b < g.blocks; ++b) {
        vec p[kCo];  // lane l < 8: pooled column 8b + l
        for (int64_t c = 0; c < kCo; ++c) {
          const float* r0 = y + ((n * kCo + c) * g.H + 2 * ho) * R + b * kLanes;
          const vec v = relu(load(r0) * sc[c] + sh[c]) + relu(load(r0 + R) * sc[c] + sh[c]);
          p[c] = 0.25f * (__builtin_shuffle(v, even) + __builtin_shuffle(v, odd));
        }
        const int64_t columns = std::min<int64_t>(kLanes / 2, Wo - b * kLanes / 2);
        for (int64_t l = 0; l < columns; ++l) {
          float* o = out + ((n * Ho + ho) * Wo + b * kLanes / 2 + l) * kCo;
          for (int64_t c = 0; c < kCo; ++c) o[c] = p[c][l];
        }
      }
    }
  }
}

// The gradient at the pooled output of image n, channels-last (N, Ho, Wo,
// 16), as the gradient at each pooling window's inputs along a row: gp[(c *
// Ho + ho) * R + w] = g / 4 for w < 2 Wo. Columns past 2 Wo stay zero from
// the caller's clearing.
RELNET_INLINE void spread_gradient(const float* gout, const Geometry& g, int64_t n, float* gp) {
  const int64_t Ho = g.Ho(), Wo = g.Wo(), R = g.row();
  for (int64_t ho = 0; ho < Ho; ++ho) {
    for (int64_t wo = 0; wo < Wo; ++wo) {
      const float* src = gout + ((n * Ho + ho) * Wo + wo) * kCo;
      for (int64_t c = 0; c < kCo; ++c) {
        const float v = 0.25f * src[c];
        gp[(c * Ho + ho) * R + 2 * wo] = v;
        gp[(c * Ho + ho) * R + 2 * wo + 1] = v;
      }
    }
  }
}

// The spread gradient of channel c at row h of block b: zero on a last odd
// row, which no pooling window covers.
RELNET_INLINE vec spread_at(const float* gp, const Geometry& g, int64_t c, int64_t h, int64_t b) {
  return h < 2 * g.Ho() ? load(gp + (c * g.Ho() + h / 2) * g.row() + b * kLanes) : vec{};
}

// Backward, first pass: per channel, the sums of du and du * xhat over images
// [n0, n1), du being the gradient at BatchNorm's output (zero where ReLU was
// off).
RELNET_SIMD void backward_sums(const float* __restrict y, const float* __restrict gout, int64_t n0,
                               int64_t n1, const Geometry& g, const BatchNormGradient& k,
                               float* __restrict gp, double* __restrict sum_du,
                               double* __restrict sum_du_xhat) {
  const int64_t R = g.row();
  std::fill(gp, gp + g.spread_size(), 0.f);
  for (int64_t n = n0; n < n1; ++n) {
    spread_gradient(gout, g, n, gp);
    for (int64_t c = 0; c < kCo; ++c) {
      const vec sc = splat(k.scale[c]), sh = splat(k.shift[c]);
      const vec mean = splat(k.mean[c]), invstd = splat(k.invstd[c]);
      vec s = vec{}, q = vec{};
      for (int64_t h = 0; h < 2 * g.Ho(); ++h) {
        const float* row = y + ((n * kCo + c) * g.H + h) * R;
        for (int64_t b = 0; b < g.blocks; ++b) {
          const vec yv = load(row + b * kLanes);
          const vec du = relu_gated(yv, sc, sh, spread_at(gp, g, c, h, b));
          s += du;
          q += du * ((yv - mean) * invstd);
        }
      }
      sum_du[c] += lane_sum(s);
      sum_du_xhat[c] += lane_sum(q);
    }
  }
}

// Scratch of one chunk of images in the backward pass.
struct BackwardScratch {
  std::vector<float> plane, gp;
  VecBuffer taps, dy_taps, dw_lanes;
  std::vector<double> dw;  // (16, 8, 3, 3)
  explicit BackwardScratch(const Geometry& g)
      : plane(g.plane(), 0.f),
        gp(g.spread_size(), 0.f),
        taps(g.tap_vectors(kCi)),
        dy_taps(g.tap_vectors(kCo)),
        dw_lanes(kCo * kTaps),
        dw(kCo * kTaps, 0.0) {}
};

// dy = BatchNorm's input gradient of image n, as tap rows: vector kw of
// (c, padded row r, block b) holds dy at row r - 1, columns 16b + l + 1 - kw,
// so that the input gradient's taps line up with the forward's.
RELNET_INLINE void dy_taps(const float* __restrict y, const Geometry& g, const BatchNormGradient& k,
                           int64_t n, const float* __restrict gp, vec mask, vec* __restrict out) {
  const int64_t R = g.row();
  for (int64_t c = 0; c < kCo; ++c) {
    const vec sc = splat(k.scale[c]), sh = splat(k.shift[c]);
    const vec k0 = splat(k.k0[c]), k1 = splat(k.k1[c]);
    for (int64_t h = 0; h < g.H; ++h) {
      const float* row = y + ((n * kCo + c) * g.H + h) * R;
      const auto dy = [&](int64_t b) __attribute__((always_inline)) {
        const vec yv = load(row + b * kLanes);
        const vec du = relu_gated(yv, sc, sh, spread_at(gp, g, c, h, b));
        const vec d = batchnorm_input_gradient(du, yv, sc, k0, k1);
        return b == g.blocks - 1 ? d * mask : d;
      };
      write_tap_row<true>(dy, g.blocks, out + ((c * (g.H + 2) + h + 1) * g.blocks) * 3);
    }
  }
}

// dw[c][ci][kh][kw] += sum over rows of dy[c] * input tap (ci, kh, kw), two
// output channels at a time so that a tap loaded serves two accumulators;
// the 18 accumulators stay in registers and go to the lanes in dw_lanes.
RELNET_INLINE void weight_gradient(const vec* __restrict taps, const vec* __restrict dyt,
                                   const Geometry& g, const NextImage& next,
                                   vec* __restrict dw_lanes) {
  for (int64_t c = 0; c < kCo; c += 2) {
    next.fetch(c / 2, kCo / 2);
    for (int64_t ci = 0; ci < kCi; ++ci) {
      vec a0[9], a1[9];
#pragma GCC unroll 9
      for (int64_t j = 0; j < 9; ++j) a0[j] = a1[j] = vec{};
      for (int64_t h = 0; h < g.H; ++h) {
        for (int64_t b = 0; b < g.blocks; ++b) {
          const vec d0 = tap_row(dyt, g, c, h + 1, b)[1];
          const vec d1 = tap_row(dyt, g, c + 1, h + 1, b)[1];
#pragma GCC unroll 3
          for (int64_t kh = 0; kh < 3; ++kh) {
            const vec* t = tap_row(taps, g, ci, h + kh, b);
#pragma GCC unroll 3
            for (int64_t kw = 0; kw < 3; ++kw) {
              a0[kh * 3 + kw] += d0 * t[kw];
              a1[kh * 3 + kw] += d1 * t[kw];
            }
          }
        }
      }
      vec* w0 = dw_lanes + (c * kCi + ci) * 9;
      vec* w1 = dw_lanes + ((c + 1) * kCi + ci) * 9;
#pragma GCC unroll 9
      for (int64_t j = 0; j < 9; ++j) {
        w0[j] += a0[j];
        w1[j] += a1[j];
      }
    }
  }
}

// dx[ci][h][w] = sum over c, kh, kw of dy[c][h + 1 - kh][w + 1 - kw] *
// weight[c][ci][kh][kw], wx holding the weights as [c][kh][kw][ci]; dx is
// image n of a contiguous (N, 8, H, W) tensor.
RELNET_INLINE void input_gradient(const vec* __restrict dyt, const float* __restrict wx,
                                  const Geometry& g, int64_t n, float* __restrict dx) {
  for (int64_t h = 0; h < g.H; ++h) {
    for (int64_t b = 0; b < g.blocks; ++b) {
      vec acc[kCi];
      convolve_row<kCo, kCi, true>(dyt, wx, g, h, b, acc);
      const int64_t columns = std::min<int64_t>(kLanes, g.W - b * kLanes);
      for (int64_t ci = 0; ci < kCi; ++ci) {
        float* dst = dx + ((n * kCi + ci) * g.H + h) * g.W + b * kLanes;
        if (columns == kLanes) {
          store(dst, acc[ci]);
        } else {
          for (int64_t l = 0; l < columns; ++l) dst[l] = acc[ci][l];
        }
      }
    }
  }
}

// Backward, second pass, for images [n0, n1): dy, the weight gradient into
// s.dw and, when dx is not null, the input gradient.
RELNET_SIMD void backward_images(const float* __restrict x, const float* __restrict y,
                                 const float* __restrict gout, const float* __restrict wx,
                                 int64_t n0, int64_t n1, const Geometry& g,
                                 const BatchNormGradient& k, BackwardScratch& s,
                                 float* __restrict dx) {
  const vec mask = last_block_mask(g);
  for (int64_t n = n0; n < n1; ++n) {
    input_taps(x, g, n, s.plane.data(), s.taps.data());
    spread_gradient(gout, g, n, s.gp.data());
    dy_taps(y, g, k, n, s.gp.data(), mask, s.dy_taps.data());
    weight_gradient(s.taps.data(), s.dy_taps.data(), g, next_image(x, y, gout, g, n, n1),
                    s.dw_lanes.data());
    if (dx != nullptr) input_gradient(s.dy_taps.data(), wx, g, n, dx);
    if ((n - n0 + 1) % kFlushEvery == 0 || n + 1 == n1) {
      for (int64_t j = 0; j < kCo * kTaps; ++j) {
        s.dw[j] += lane_sum(s.dw_lanes[j]);
        s.dw_lanes[j] = vec{};
      }
    }
  }
}

Geometry geometry_of(const Tensor& x) {
  Geometry g{x.size(0), x.size(2), x.size(3), {}, (x.size(3) + kLanes - 1) / kLanes};
  for (int d = 0; d < 4; ++d) g.x_stride[d] = x.stride(d);
  return g;
}

class SecondBlock : public torch::autograd::Function<SecondBlock> {
 public:
  static Tensor forward(AutogradContext* ctx, const Tensor& x, const Tensor& weight,
                        const Tensor& gamma, const Tensor& beta, Tensor running_mean,
                        Tensor running_var, double momentum, double eps) {
    const Geometry g = geometry_of(x);
    const int64_t M = g.N * g.H * g.W;
    TORCH_CHECK(M > 1, "BatchNorm needs more than one value per channel, got input ", x.sizes());
    const Tensor w = weight.detach();
    const Tensor wf = w.permute({1, 2, 3, 0}).contiguous();  // [ci][kh][kw][co]
    Tensor y = torch::empty({g.N, kCo, g.H, g.row()}, x.options());
    const float* xp = x.data_ptr<float>();
    float* yp = y.data_ptr<float>();

    const int64_t chunks = chunk_count(g.N, 8);
    std::vector<double> sums(2 * chunks * kCo, 0.0);
    parallel_chunks(g.N, chunks, [&](int64_t k, int64_t n0, int64_t n1) {
      std::vector<float> plane(g.plane());
      VecBuffer taps(g.tap_vectors(kCi));
      conv_forward(xp, wf.data_ptr<float>(), yp, n0, n1, g, plane.data(), taps.data(),
                   &sums[2 * k * kCo], &sums[(2 * k + 1) * kCo]);
    });
    const BatchMoments m =
        batch_moments(sums, chunks, kCo, M, eps, running_mean, running_var, momentum);
    const Tensor g32 = gamma.contiguous(), b32 = beta.contiguous();
    const BatchNormGradient k =
        batchnorm_gradient_constants(g32.data_ptr<float>(), b32.data_ptr<float>(),
                                     m.mean.data_ptr<float>(), m.invstd.data_ptr<float>(), kCo);
    Tensor out = torch::empty({g.N, kCo, g.Ho(), g.Wo()},
                              x.options().memory_format(at::MemoryFormat::ChannelsLast));
    float* op = out.data_ptr<float>();
    parallel_chunks(g.N, chunks, [&](int64_t, int64_t n0, int64_t n1) {
      pool_forward(yp, op, n0, n1, g, k.scale.data(), k.shift.data());
    });
    ctx->save_for_backward({x, w, y, g32, b32, m.mean, m.invstd});
    return out;
  }

  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    const auto saved = ctx->get_saved_variables();
    const Tensor& x = saved[0];
    const Tensor& y = saved[2];
    const Geometry g = geometry_of(x);
    const Tensor gout = grads[0].to(torch::kFloat32).contiguous(at::MemoryFormat::ChannelsLast);
    const float* gp = gout.data_ptr<float>();
    const float* yp = y.data_ptr<float>();
    BatchNormGradient k =
        batchnorm_gradient_constants(saved[3].data_ptr<float>(), saved[4].data_ptr<float>(),
                                     saved[5].data_ptr<float>(), saved[6].data_ptr<float>(), kCo);

    const int64_t chunks = chunk_count(g.N, 8);
    std::vector<double> sums(2 * chunks * kCo, 0.0);
    std::vector<BackwardScratch> scratch;
    scratch.reserve(chunks);
    for (int64_t j = 0; j < chunks; ++j) scratch.emplace_back(g);
    parallel_chunks(g.N, chunks, [&](int64_t j, int64_t n0, int64_t n1) {
      backward_sums(yp, gp, n0, n1, g, k, scratch[j].gp.data(), &sums[2 * j * kCo],
                    &sums[(2 * j + 1) * kCo]);
    });
    Tensor dgamma, dbeta;
    batchnorm_backward_totals(sums, chunks, static_cast<double>(g.N * g.H * g.W), k, dgamma, dbeta);

    const bool need_dx = ctx->needs_input_grad(0);
    Tensor dx = need_dx ? torch::empty({g.N, kCi, g.H, g.W}, x.options()) : Tensor();
    const Tensor wx = saved[1].permute({0, 2, 3, 1}).contiguous();  // [c][kh][kw][ci]
    const float* xp = x.data_ptr<float>();
    parallel_chunks(g.N, chunks, [&](int64_t j, int64_t n0, int64_t n1) {
      backward_images(xp, yp, gp, wx.data_ptr<float>(), n0, n1, g, k, scratch[j],
                      need_dx ? dx.data_ptr<float>() : nullptr);
    });
    Tensor dweight = torch::empty({kCo, kCi, 3, 3}, saved[1].options());
    for (int64_t i = 0; i < kCo * kTaps; ++i) {
      double total = 0;
      for (int64_t j = 0; j < chunks; ++j) total += scratch[j].dw[i];
      dweight.data_ptr<float>()[i] = static_cast<float>(total);
    }
    return {dx, dweight, dgamma, dbeta, Tensor(), Tensor(), Tensor(), Tensor()};
  }
};

}  // namespace

bool fused_second_block_applies(const torch::Tensor& x, const torch::nn::Conv2dImpl& conv) {
  return x.dim() == 4 && is_float_cpu(x) && x.size(1) == kCi && x.size(2) >= 2 && x.size(3) >= 2 &&
         conv.options.in_channels() == kCi && conv.options.out_channels() == kCo &&
         is_same_size_conv3x3(conv);
}

torch::Tensor fused_second_block(const torch::Tensor& x, torch::nn::Conv2dImpl& conv,
                                 torch::nn::BatchNorm2dImpl& bn) {
  TORCH_CHECK(fused_second_block_applies(x, conv),
              "the fused second block takes a 4-D float32 CPU input of ", kCi,
              " channels with a 3x3, stride 1, padding 1, bias-free convolution from ", kCi, " to ",
              kCo, " channels; got input ", x.sizes(), " ", x.scalar_type(), " on ", x.device(),
              " for ", conv.options.in_channels(), " -> ", conv.options.out_channels(),
              " channels");
  const double momentum = start_batchnorm2d_step(bn, kCo);
  return SecondBlock::apply(x, conv.weight, bn.weight, bn.bias, bn.running_mean, bn.running_var,
                            momentum, bn.options.eps());
}

}  // namespace relnet
