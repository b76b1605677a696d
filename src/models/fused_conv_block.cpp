// Fused conv3x3 -> BatchNorm2d -> ReLU -> AvgPool2d(2) for Conv4's first
// block, on 16-float vectors (GCC vector extensions, compiled per instruction
// set by RELNET_SIMD).
//
// Layouts. A row of the convolution's output y is kept in blocks of 32
// columns: block b holds the 16 even columns 32b, 32b + 2, ... in one vector
// and the 16 odd columns after them, so lane l of both is pooled position
// 16b + l. y is (N, 8, H, R), R = 32 * blocks, zero past column W. Each
// input image is copied, zero-padded, into the vectors the 3x3 taps of a
// block read (pad_image), so that every tap is one aligned load.
//
// Passes: forward, the convolution with BatchNorm's sums (conv_forward), then
// normalisation, ReLU and pooling (pool_forward); backward, BatchNorm's
// gradient sums (backward_sums), then the weight gradient (backward_weight).
#include "relnet/models/fused_conv_block.h"

#include <algorithm>
#include <cstdint>
#include <vector>

#include "kernels/batchnorm.h"
#include "kernels/float_cpu.h"
#include "kernels/vec16.h"
#include "relnet/util/parallel.h"

namespace relnet {
namespace {

using torch::Tensor;
using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

using namespace vec16;  // NOLINT(build/namespaces): the kernels' vector vocabulary

constexpr int64_t kCo = 8;  // output channels
constexpr int64_t kMaxCin = 4;

struct Geometry {
  int64_t N, Cin, H, W;
  int64_t x_stride[4];  // the input's strides, in elements
  int64_t blocks;       // ceil(W / 32)
  int64_t Ho() const { return H / 2; }
  int64_t Wo() const { return W / 2; }
  int64_t half() const { return blocks * kLanes; }  // pooled positions per row, padded
  int64_t row() const { return 2 * half(); }        // floats per row of y
  int64_t pad_len() const { return half() + 2; }    // one parity of a padded input row
  int64_t split_size() const { return Cin * (H + 2) * 2 * pad_len(); }
  int64_t taps_size() const { return Cin * (H + 2) * blocks * 4 * kLanes; }
  // Scratch for one image's input: split rows, then (64-byte aligned) taps.
  int64_t pad_size() const { return split_size() + kLanes + taps_size(); }
  int64_t pooled_size() const { return kCo * Ho() * half(); }
};

// Block `block` of a row (columns 32 * block on): 1 where a lane holds a
// column of the image, 0 past it, for the even and the odd lanes.
void column_masks(const Geometry& g, int64_t block, vec& even, vec& odd) {
  for (int64_t l = 0; l < kLanes; ++l) {
    const int64_t col = 32 * block + 2 * l;
    even[l] = col < g.W ? 1.f : 0.f;
    odd[l] = col + 1 < g.W ? 1.f : 0.f;
  }
}

// Image n, zero-padded, in two forms. First split by column parity:
// padded row r of input channel ci is at pad + ((ci * (H + 2) + r) * 2 +
// parity) * pad_len, and index j there holds column 2 (j - 1) + parity.
// From these, the taps: for block b of padded row r, channel ci, the 4
// vectors of columns 2k - 1 (odd_a), 2k (even_b), 2k + 1 (odd_b), 2k + 2
// (even_c) for the block's 16 pooled positions k, side by side and aligned,
// so that the kernels read each with one aligned load, which they do many
// times over. Even outputs (column 2k) take taps odd_a, even_b, odd_b; odd
// outputs (2k + 1) take even_b, odd_b, even_c. pad_image writes the image's
// columns only: the padding stays zero from clear_pad, once per scratch
// buffer.
int64_t taps_offset(const Geometry& g, const float* pad) {
  const auto address = reinterpret_cast<uintptr_t>(pad + g.split_size());
  return g.split_size() + static_cast<int64_t>((64 - address % 64) % 64 / sizeof(float));
}

void clear_pad(const Geometry& g, float* pad) { std::fill(pad, pad + g.pad_size(), 0.f); }

RELNET_INLINE void split_row(const float* __restrict src, int64_t stride, int64_t W,
                             float* __restrict even, float* __restrict odd) {
  if (stride == 1) {  // NCHW input: a loop the compiler vectorises
    for (int64_t j = 0; j < W / 2; ++j) {
      even[j + 1] = src[2 * j];
      odd[j + 1] = src[2 * j + 1];
    }
  } else {
    for (int64_t j = 0; j < W / 2; ++j) {
      even[j + 1] = src[2 * j * stride];
      odd[j + 1] = src[(2 * j + 1) * stride];
    }
  }
  if (W % 2 == 1) even[W / 2 + 1] = src[(W - 1) * stride];
}

RELNET_SIMD void pad_image(const float* x, const Geometry& g, int64_t n, float* pad) {
  const int64_t* s = g.x_stride;
  float* taps = pad + taps_offset(g, pad);
  // All rows split first, then all taps: a tap load straight after the
  // stores of its row's split, one float off, would wait for them to reach
  // the cache (no store forwarding across unaligned partial overlaps).
  for (int64_t ci = 0; ci < g.Cin; ++ci) {
    for (int64_t r = 1; r <= g.H; ++r) {
      float* even = pad + ((ci * (g.H + 2) + r) * 2) * g.pad_len();
      split_row(x + n * s[0] + ci * s[1] + (r - 1) * s[2], s[3], g.W, even, even + g.pad_len());
    }
  }
  if (n + 1 < g.N && s[3] == 1 && s[2] == g.W && s[1] == g.H * g.W) {
    prefetch(x + (n + 1) * s[0], g.Cin * g.H * g.W);  // the next image, while the taps are built
  }
  for (int64_t ci = 0; ci < g.Cin; ++ci) {
    for (int64_t r = 1; r <= g.H; ++r) {
      const float* even = pad + ((ci * (g.H + 2) + r) * 2) * g.pad_len();
      const float* odd = even + g.pad_len();
      float* t = taps + (ci * (g.H + 2) + r) * g.blocks * 4 * kLanes;
      for (int64_t b = 0; b < g.blocks; ++b, t += 4 * kLanes) {
        const int64_t k = b * kLanes;
        store(t, load(odd + k));  // vector moves: std::copy became a call to memcpy per tap
        store(t + kLanes, load(even + k + 1));
        store(t + 2 * kLanes, load(odd + k + 1));
        store(t + 3 * kLanes, load(even + k + 2));
      }
    }
  }
}

struct Taps {
  vec odd_a, even_b, odd_b, even_c;
};
RELNET_INLINE Taps taps_of(const float* taps, const Geometry& g, int64_t ci, int64_t r, int64_t b) {
  const vec* t = reinterpret_cast<const vec*>(taps) + ((ci * (g.H + 2) + r) * g.blocks + b) * 4;
  return {t[0], t[1], t[2], t[3]};
}

// Forward, first pass: y = conv(x) for images [n0, n1), and per channel the
// sums of y and y^2 (float within an image, double across images).
RELNET_SIMD void conv_forward(const float* __restrict x, const float* __restrict wt,
                              float* __restrict y, int64_t n0, int64_t n1, const Geometry& g,
                              float* __restrict pad, double* __restrict sum,
                              double* __restrict sumsq) {
  const int64_t R = g.row();
  vec last_even, last_odd;
  column_masks(g, g.blocks - 1, last_even, last_odd);
  clear_pad(g, pad);
  const float* taps = pad + taps_offset(g, pad);
  for (int64_t n = n0; n < n1; ++n) {
    pad_image(x, g, n, pad);
    vec s[kCo], q[kCo];
    for (int64_t c = 0; c < kCo; ++c) s[c] = q[c] = vec{};
    for (int64_t h = 0; h < g.H; ++h) {
      for (int64_t b = 0; b < g.blocks; ++b) {
        vec e[kCo], o[kCo];
        for (int64_t c = 0; c < kCo; ++c) e[c] = o[c] = vec{};
        for (int64_t ci = 0; ci < g.Cin; ++ci) {
          for (int64_t kh = 0; kh < 3; ++kh) {
            const Taps t = taps_of(taps, g, ci, h + kh, b);
            const float* w = wt + (ci * 3 + kh) * 3 * kCo;  // [kw][c]
            // One multiply-add per statement: a sum of products would be
            // added to the accumulator as a whole, one more operation.
            for (int64_t c = 0; c < kCo; ++c) {
              e[c] += w[c] * t.odd_a;
              e[c] += w[kCo + c] * t.even_b;
              e[c] += w[2 * kCo + c] * t.odd_b;
              o[c] += w[c] * t.even_b;
              o[c] += w[kCo + c] * t.odd_b;
              o[c] += w[2 * kCo + c] * t.even_c;
            }
          }
        }
        const bool last = b == g.blocks - 1;
        for (int64_t c = 0; c < kCo; ++c) {
          if (last) {
            e[c] *= last_even;
            o[c] *= last_odd;
          }
          float* out = y + ((n * kCo + c) * g.H + h) * R + 2 * b * kLanes;
          store(out, e[c]);
          store(out + kLanes, o[c]);
          s[c] += e[c] + o[c];
          q[c] += e[c] * e[c] + o[c] * o[c];
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
// [n0, n1), contiguous (N, 8, Ho, Wo); `pooled` holds one image's result
// in padded rows.
RELNET_SIMD void pool_forward(const float* __restrict y, float* __restrict out, int64_t n0,
                              int64_t n1, const Geometry& g, const float* scale, const float* shift,
                              float* __restrict pooled) {
  const int64_t R = g.row(), Ho = g.Ho(), Wo = g.Wo(), half = g.half();
  for (int64_t n = n0; n < n1; ++n) {
    for (int64_t c = 0; c < kCo; ++c) {
      const vec sc = splat(scale[c]), sh = splat(shift[c]);
      for (int64_t ho = 0; ho < Ho; ++ho) {
        const float* r0 = y + ((n * kCo + c) * g.H + 2 * ho) * R;
        const float* r1 = r0 + R;
        for (int64_t b = 0; b < g.blocks; ++b) {
          const float* a = r0 + 2 * b * kLanes;
          const float* d = r1 + 2 * b * kLanes;
          const vec v = relu(load(a) * sc + sh) + relu(load(a + kLanes) * sc + sh) +
                        relu(load(d) * sc + sh) + relu(load(d + kLanes) * sc + sh);
          store(pooled + (c * Ho + ho) * half + b * kLanes, 0.25f * v);
        }
      }
    }
    float* o = out + n * kCo * Ho * Wo;
    for (int64_t r = 0; r < kCo * Ho; ++r) {
      std::copy(pooled + r * half, pooled + r * half + Wo, o + r * Wo);
    }
  }
}

// The gradient at the pooled output of image n, contiguous (N, 8, Ho, Wo),
// as the gradient at each pooling window's inputs: gp[(c * Ho + ho) *
// half + k] = g / 4. Positions k >= Wo stay zero from clear_spread.
void clear_spread(const Geometry& g, float* gp) { std::fill(gp, gp + g.pooled_size(), 0.f); }

void spread_gradient(const float* gout, const Geometry& g, int64_t n, float* gp) {
  const int64_t Ho = g.Ho(), Wo = g.Wo(), half = g.half();
  const float* src = gout + n * kCo * Ho * Wo;
  for (int64_t r = 0; r < kCo * Ho; ++r) {
    for (int64_t wo = 0; wo < Wo; ++wo) gp[r * half + wo] = 0.25f * src[r * Wo + wo];
  }
}

// Backward, first pass: per channel, the sums of du and du * xhat over images
// [n0, n1), du being the gradient at BatchNorm's output (zero where ReLU was
// off). Rows and columns that no pooling window covers have du = 0.
RELNET_SIMD void backward_sums(const float* __restrict y, const float* __restrict gout, int64_t n0,
                               int64_t n1, const Geometry& g, const BatchNormGradient& k,
                               float* __restrict gp, double* __restrict sum_du,
                               double* __restrict sum_du_xhat) {
  const int64_t R = g.row(), Ho = g.Ho(), half = g.half();
  clear_spread(g, gp);
  for (int64_t n = n0; n < n1; ++n) {
    spread_gradient(gout, g, n, gp);
    for (int64_t c = 0; c < kCo; ++c) {
      const vec sc = splat(k.scale[c]), sh = splat(k.shift[c]);
      const vec mean = splat(k.mean[c]), invstd = splat(k.invstd[c]);
      vec s = vec{}, q = vec{};
      for (int64_t h = 0; h < 2 * Ho; ++h) {
        const float* row = y + ((n * kCo + c) * g.H + h) * R;
        const float* grow = gp + (c * Ho + h / 2) * half;
        for (int64_t b = 0; b < g.blocks; ++b) {
          const vec gv = load(grow + b * kLanes);
          for (int64_t p = 0; p < 2; ++p) {
            const vec yv = load(row + (2 * b + p) * kLanes);
            const vec du = relu_gated(yv, sc, sh, gv);
            s += du;
            q += du * ((yv - mean) * invstd);
          }
        }
      }
      sum_du[c] += lane_sum(s);
      sum_du_xhat[c] += lane_sum(q);
    }
  }
}

// Backward, second pass: the convolution's weight gradient over images
// [n0, n1), one output channel c of an image at a time. First BatchNorm's
// input gradient dy of channel c (from y and the pooled gradient) goes to
// `dy`, one channel of y's layout, small enough to stay in the L1 cache;
// then the channel's 9 Cin weight gradients stay in registers, one vector
// each, while the rows of dy are multiplied into the input taps lane by
// lane. After each channel the lanes are added into dw (8, Cin, 3, 3) in
// double.
//
// The loop spends long on each channel and reads y in bursts, too far apart
// for the hardware to fetch ahead: while it multiplies channel c it asks for
// the next channel's y (the next image's first after the last), and an
// eighth of the next image's input and output gradient (`next` is false on
// a chunk's last image).
template <int64_t Cin>
RELNET_INLINE void weight_gradient_of_image(const float* __restrict x, const float* __restrict y,
                                            const float* __restrict gout, const Geometry& g,
                                            const BatchNormGradient& k, int64_t n, bool next,
                                            const float* __restrict pad, const float* __restrict gp,
                                            vec last_even, vec last_odd, float* __restrict dy,
                                            double* __restrict dw) {
  const int64_t R = g.row(), Ho = g.Ho(), half = g.half();
  const int64_t pooled = Ho * g.Wo() * kCo, image = Cin * g.H * g.W;
  const bool x_contiguous = g.x_stride[0] == image && g.x_stride[3] == 1;
  const float* taps = pad + taps_offset(g, pad);
  for (int64_t c = 0; c < kCo; ++c) {
    const float* y_next = c + 1 < kCo ? y + (n * kCo + c + 1) * g.H * R
                          : next      ? y + (n + 1) * kCo * g.H * R
                                      : nullptr;
    if (next) {
      prefetch(gout + (n + 1) * pooled + c * pooled / kCo, pooled / kCo);
      if (x_contiguous) prefetch(x + (n + 1) * image + c * image / kCo, image / kCo);
    }
    {
      const vec sc = splat(k.scale[c]), sh = splat(k.shift[c]);
      const vec k0 = splat(k.k0[c]), k1 = splat(k.k1[c]);
      for (int64_t h = 0; h < g.H; ++h) {
        const float* row = y + ((n * kCo + c) * g.H + h) * R;
        for (int64_t b = 0; b < g.blocks; ++b) {
          const vec gv = h < 2 * Ho ? load(gp + (c * Ho + h / 2) * half + b * kLanes) : vec{};
          const vec ye = load(row + 2 * b * kLanes), yo = load(row + (2 * b + 1) * kLanes);
          vec de = batchnorm_input_gradient(relu_gated(ye, sc, sh, gv), ye, sc, k0, k1);  // even
          vec dd = batchnorm_input_gradient(relu_gated(yo, sc, sh, gv), yo, sc, k0, k1);  // odd
          if (b == g.blocks - 1) {
            de *= last_even;
            dd *= last_odd;
          }
          store(dy + h * R + 2 * b * kLanes, de);
          store(dy + h * R + (2 * b + 1) * kLanes, dd);
        }
      }
    }
    vec acc[Cin * 9];  // [ci][kh][kw]
                       // Unrolled in full, so that acc lives in registers.
#pragma GCC unroll 36
    for (int64_t j = 0; j < Cin * 9; ++j) acc[j] = vec{};
    for (int64_t h = 0; h < g.H; ++h) {
      if (y_next != nullptr) prefetch(y_next + h * R, R);
      for (int64_t b = 0; b < g.blocks; ++b) {
        const vec de = load(dy + h * R + 2 * b * kLanes);
        const vec dd = load(dy + h * R + (2 * b + 1) * kLanes);
#pragma GCC unroll 4
        for (int64_t ci = 0; ci < Cin; ++ci) {
#pragma GCC unroll 3
          for (int64_t kh = 0; kh < 3; ++kh) {
            const Taps t = taps_of(taps, g, ci, h + kh, b);
            vec* w = acc + (ci * 3 + kh) * 3;
            w[0] += de * t.odd_a;
            w[0] += dd * t.even_b;
            w[1] += de * t.even_b;
            w[1] += dd * t.odd_b;
            w[2] += de * t.odd_b;
            w[2] += dd * t.even_c;
          }
        }
      }
    }
#pragma GCC unroll 36
    for (int64_t j = 0; j < Cin * 9; ++j) dw[c * Cin * 9 + j] += lane_sum(acc[j]);
  }
}

RELNET_SIMD void backward_weight(const float* __restrict x, const float* __restrict y,
                                 const float* __restrict gout, int64_t n0, int64_t n1,
                                 const Geometry& g, const BatchNormGradient& k,
                                 float* __restrict pad, float* __restrict gp, float* __restrict dy,
                                 double* __restrict dw) {
  vec last_even, last_odd;
  column_masks(g, g.blocks - 1, last_even, last_odd);
  clear_pad(g, pad);
  clear_spread(g, gp);
  for (int64_t n = n0; n < n1; ++n) {
    pad_image(x, g, n, pad);
    spread_gradient(gout, g, n, gp);
    const bool next = n + 1 < n1;
    switch (g.Cin) {  // the taps unrolled, so that the gradients stay in registers
      case 1:
        weight_gradient_of_image<1>(x, y, gout, g, k, n, next, pad, gp, last_even, last_odd, dy,
                                    dw);
        break;
      case 2:
        weight_gradient_of_image<2>(x, y, gout, g, k, n, next, pad, gp, last_even, last_odd, dy,
                                    dw);
        break;
      case 3:
        weight_gradient_of_image<3>(x, y, gout, g, k, n, next, pad, gp, last_even, last_odd, dy,
                                    dw);
        break;
      default:
        weight_gradient_of_image<kMaxCin>(x, y, gout, g, k, n, next, pad, gp, last_even, last_odd,
                                          dy, dw);
        break;
    }
  }
}

Geometry geometry_of(const Tensor& x) {
  Geometry g{x.size(0), x.size(1), x.size(2), x.size(3), {}, (x.size(3) + 31) / 32};
  for (int d = 0; d < 4; ++d) g.x_stride[d] = x.stride(d);
  return g;
}

class ConvBatchNormReluPool : public torch::autograd::Function<ConvBatchNormReluPool> {
 public:
  static Tensor forward(AutogradContext* ctx, const Tensor& x, const Tensor& weight,
                        const Tensor& gamma, const Tensor& beta, Tensor running_mean,
                        Tensor running_var, double momentum, double eps) {
    const Geometry g = geometry_of(x);
    const int64_t M = g.N * g.H * g.W;
    TORCH_CHECK(M > 1, "BatchNorm needs more than one value per channel, got input ", x.sizes());
    // Weights as [ci][kh][kw][c]: the 8 output channels of a tap side by side.
    const Tensor wt = weight.detach().permute({1, 2, 3, 0}).contiguous();
    Tensor y = torch::empty({g.N, kCo, g.H, g.row()}, x.options());
    const float* xp = x.data_ptr<float>();
    float* yp = y.data_ptr<float>();

    const int64_t chunks = chunk_count(g.N, 8);
    std::vector<double> sums(2 * chunks * kCo, 0.0);
    std::vector<float> pads(chunks * g.pad_size());
    parallel_chunks(g.N, chunks, [&](int64_t k, int64_t n0, int64_t n1) {
      conv_forward(xp, wt.data_ptr<float>(), yp, n0, n1, g, &pads[k * g.pad_size()],
                   &sums[2 * k * kCo], &sums[(2 * k + 1) * kCo]);
    });
    const BatchMoments m =
        batch_moments(sums, chunks, kCo, M, eps, running_mean, running_var, momentum);

    const Tensor g32 = gamma.contiguous(), b32 = beta.contiguous();
    std::vector<float> scale(kCo), shift(kCo);
    batchnorm_affine(g32.data_ptr<float>(), b32.data_ptr<float>(), m.mean.data_ptr<float>(),
                     m.invstd.data_ptr<float>(), kCo, scale.data(), shift.data());
    Tensor out = torch::empty({g.N, kCo, g.Ho(), g.Wo()}, x.options());
    float* op = out.data_ptr<float>();
    std::vector<float> pooled(chunks * g.pooled_size());
    parallel_chunks(g.N, chunks, [&](int64_t k, int64_t n0, int64_t n1) {
      pool_forward(yp, op, n0, n1, g, scale.data(), shift.data(), &pooled[k * g.pooled_size()]);
    });
    ctx->save_for_backward({x, y, g32, b32, m.mean, m.invstd});
    return out;
  }

  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    const auto saved = ctx->get_saved_variables();
    const Tensor& x = saved[0];
    const Tensor& y = saved[1];
    const float* gamma = saved[2].data_ptr<float>();
    const float* beta = saved[3].data_ptr<float>();
    const float* mean = saved[4].data_ptr<float>();
    const float* invstd = saved[5].data_ptr<float>();
    const Geometry g = geometry_of(x);
    const double M = static_cast<double>(g.N * g.H * g.W);
    const Tensor gout = grads[0].to(torch::kFloat32).contiguous();
    const float* gp = gout.data_ptr<float>();
    const float* yp = y.data_ptr<float>();

    BatchNormGradient k = batchnorm_gradient_constants(gamma, beta, mean, invstd, kCo);
    const int64_t chunks = chunk_count(g.N, 8);
    std::vector<double> sums(2 * chunks * kCo, 0.0);
    std::vector<float> spread(chunks * g.pooled_size());
    parallel_chunks(g.N, chunks, [&](int64_t j, int64_t n0, int64_t n1) {
      backward_sums(yp, gp, n0, n1, g, k, &spread[j * g.pooled_size()], &sums[2 * j * kCo],
                    &sums[(2 * j + 1) * kCo]);
    });
    Tensor dgamma, dbeta;
    batchnorm_backward_totals(sums, chunks, M, k, dgamma, dbeta);

    const int64_t taps = g.Cin * 9;
    std::vector<double> dws(chunks * kCo * taps, 0.0);
    std::vector<float> pads(chunks * g.pad_size());
    std::vector<float> dys(chunks * g.H * g.row());
    const float* xp = x.data_ptr<float>();
    parallel_chunks(g.N, chunks, [&](int64_t j, int64_t n0, int64_t n1) {
      backward_weight(xp, yp, gp, n0, n1, g, k, &pads[j * g.pad_size()],
                      &spread[j * g.pooled_size()], &dys[j * g.H * g.row()], &dws[j * kCo * taps]);
    });
    Tensor dweight = torch::empty({kCo, g.Cin, 3, 3}, saved[2].options());
    for (int64_t i = 0; i < kCo * taps; ++i) {
      double s = 0;
      for (int64_t j = 0; j < chunks; ++j) s += dws[j * kCo * taps + i];
      dweight.data_ptr<float>()[i] = static_cast<float>(s);
    }
    return {Tensor(), dweight, dgamma, dbeta, Tensor(), Tensor(), Tensor(), Tensor()};
  }
};

}  // namespace

bool is_same_size_conv3x3(const torch::nn::Conv2dImpl& conv) {
  const auto& o = conv.options;
  const auto* padding = c10::get_if<torch::ExpandingArray<2>>(&o.padding());
  return (*o.kernel_size())[0] == 3 && (*o.kernel_size())[1] == 3 && (*o.stride())[0] == 1 &&
         (*o.stride())[1] == 1 && padding != nullptr && (**padding)[0] == 1 &&
         (**padding)[1] == 1 && (*o.dilation())[0] == 1 && (*o.dilation())[1] == 1 &&
         o.groups() == 1 && !o.bias() &&
         c10::get_if<torch::enumtype::kZeros>(&o.padding_mode()) != nullptr &&
         is_float_cpu(conv.weight);
}

bool fused_conv_block_applies(const torch::Tensor& x, const torch::nn::Conv2dImpl& conv) {
  const auto& o = conv.options;
  return x.dim() == 4 && is_float_cpu(x) && !x.requires_grad() && x.size(1) == o.in_channels() &&
         o.in_channels() <= kMaxCin && x.size(2) >= 2 && x.size(3) >= 2 &&
         o.out_channels() == kCo && is_same_size_conv3x3(conv);
}

torch::Tensor conv_batchnorm_relu_pool(const torch::Tensor& x, torch::nn::Conv2dImpl& conv,
                                       torch::nn::BatchNorm2dImpl& bn) {
  TORCH_CHECK(fused_conv_block_applies(x, conv),
              "the fused first block takes a 4-D float32 CPU input that needs no gradient with a "
              "3x3, stride 1, padding 1, bias-free convolution from at most ",
              kMaxCin, " to ", kCo, " channels; got input ", x.sizes(), " ", x.scalar_type(),
              " on ", x.device(), " for ", conv.options.in_channels(), " -> ",
              conv.options.out_channels(), " channels");
  const double momentum = start_batchnorm2d_step(bn, kCo);
  return ConvBatchNormReluPool::apply(x, conv.weight, bn.weight, bn.bias, bn.running_mean,
                                      bn.running_var, momentum, bn.options.eps());
}

}  // namespace relnet
