// Fused BatchNorm2d -> ReLU -> average pooling on channels-last float
// activations (N, H, W, C in memory), M = N*H*W values per channel.
#include "relnet/models/fused_batchnorm.h"

#include <vector>

#include "kernels/batchnorm.h"
#include "kernels/float_cpu.h"
#include "kernels/simd.h"
#include "relnet/util/parallel.h"

namespace relnet {
namespace {

using torch::Tensor;
using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

struct Shape {
  int64_t N, C, H, W;
  bool global;
  int64_t Ho() const { return global ? 1 : H / 2; }
  int64_t Wo() const { return global ? 1 : W / 2; }
};

// The kernels walk image lines: line (n, h) is W*C contiguous floats, L of
// them. Per-channel constants are tiled W times to length L, so every inner
// loop runs over a whole line and vectorises even for Conv4's 8 channels
// (a loop over C = 8 alone is shorter than one AVX-512 register).

// Adds a line of L = W*C per-position sums into per-channel `sum`.
RELNET_INLINE void fold_line(const float* line, int64_t W, int64_t C, double* sum) {
  for (int64_t w = 0; w < W; ++w) {
    for (int64_t c = 0; c < C; ++c) sum[c] += line[w * C + c];
  }
}

// Sums of x and x^2 per channel over lines [l0, l1): float partial sums over
// short blocks, accumulated in double.
RELNET_SIMD void line_moments(const float* __restrict x, int64_t l0, int64_t l1, int64_t W,
                              int64_t C, float* __restrict s, float* __restrict q,
                              double* __restrict sum, double* __restrict sumsq) {
  constexpr int64_t kBlock = 8;
  const int64_t L = W * C;
  for (int64_t b = l0; b < l1; b += kBlock) {
    const int64_t e = std::min(l1, b + kBlock);
    for (int64_t j = 0; j < L; ++j) s[j] = q[j] = 0.f;
    for (int64_t r = b; r < e; ++r) {
      const float* __restrict line = x + r * L;
      for (int64_t j = 0; j < L; ++j) {
        s[j] += line[j];
        q[j] += line[j] * line[j];
      }
    }
    fold_line(s, W, C, sum);
    fold_line(q, W, C, sumsq);
  }
}

// out = avgpool2(relu(scale * x + shift)) for images [n0, n1).
RELNET_SIMD void forward_avg2(const float* __restrict x, float* __restrict out, int64_t n0,
                              int64_t n1, const Shape& sh, const float* scale, const float* shift) {
  const int64_t C = sh.C, H = sh.H, W = sh.W, Ho = sh.Ho(), Wo = sh.Wo();
  for (int64_t n = n0; n < n1; ++n) {
    for (int64_t ho = 0; ho < Ho; ++ho) {
      for (int64_t wo = 0; wo < Wo; ++wo) {
        const float* a = x + ((n * H + 2 * ho) * W + 2 * wo) * C;
        const float* b = a + C;
        const float* c2 = a + W * C;
        const float* d = c2 + C;
        float* o = out + ((n * Ho + ho) * Wo + wo) * C;
        for (int64_t c = 0; c < C; ++c) {
          const float s = scale[c], t = shift[c];
          o[c] = 0.25f * (std::max(a[c] * s + t, 0.f) + std::max(b[c] * s + t, 0.f) +
                          std::max(c2[c] * s + t, 0.f) + std::max(d[c] * s + t, 0.f));
        }
      }
    }
  }
}

// out = mean over (H, W) of relu(scale * x + shift) for images [n0, n1).
RELNET_SIMD void forward_global(const float* __restrict x, float* __restrict out, int64_t n0,
                                int64_t n1, const Shape& sh, const float* __restrict scale,
                                const float* __restrict shift, float* __restrict acc) {
  const int64_t C = sh.C, HW = sh.H * sh.W;
  const float inv = 1.f / static_cast<float>(HW);
  for (int64_t n = n0; n < n1; ++n) {
    for (int64_t c = 0; c < C; ++c) acc[c] = 0.f;
    for (int64_t r = 0; r < HW; ++r) {
      const float* row = x + (n * HW + r) * C;
      for (int64_t c = 0; c < C; ++c) acc[c] += std::max(row[c] * scale[c] + shift[c], 0.f);
    }
    for (int64_t c = 0; c < C; ++c) out[n * C + c] = acc[c] * inv;
  }
}

// Per-channel constants of the backward pass, tiled to a line's length.
struct Tiled {
  std::vector<float> scale, shift, mean, invstd, a, b, c;
};

// out[2w], out[2w + 1] = g[w] / 4 for blocks of C channels; with C known at
// compile time each block is one vector operation.
template <int64_t C>
RELNET_INLINE void spread_pairs(const float* __restrict g, int64_t Wo, float* __restrict out) {
  for (int64_t w = 0; w < Wo; ++w) {
    for (int64_t c = 0; c < C; ++c) {
      const float v = 0.25f * g[w * C + c];
      out[2 * w * C + c] = v;
      out[(2 * w + 1) * C + c] = v;
    }
  }
}

// The gradient at BatchNorm-ReLU's output along line (n, h), before the
// ReLU mask: the pooled gradient spread over its window (times 1/4, or
// 1/(H*W) for the global pool), zero where no window covers.
RELNET_INLINE void spread_gradient(const float* __restrict g, const Shape& sh, int64_t n, int64_t h,
                                   float* __restrict out) {
  const int64_t C = sh.C, W = sh.W;
  if (sh.global) {
    const float k = 1.f / static_cast<float>(sh.H * sh.W);
    for (int64_t w = 0; w < W; ++w) {
      for (int64_t c = 0; c < C; ++c) out[w * C + c] = k * g[n * C + c];
    }
    return;
  }
  const int64_t Ho = sh.Ho(), Wo = sh.Wo();
  if (h >= 2 * Ho) {
    for (int64_t j = 0; j < W * C; ++j) out[j] = 0.f;
    return;
  }
  const float* __restrict gl = g + (n * Ho + h / 2) * Wo * C;
  if (C == 8) {
    spread_pairs<8>(gl, Wo, out);
  } else if (C == 16) {
    spread_pairs<16>(gl, Wo, out);
  } else {
    for (int64_t w = 0; w < 2 * Wo; ++w) {
      for (int64_t c = 0; c < C; ++c) out[w * C + c] = 0.25f * gl[(w / 2) * C + c];
    }
  }
  for (int64_t j = 2 * Wo * C; j < W * C; ++j) out[j] = 0.f;
}

// Backward, first pass: per channel, sum of du and of du * xhat over images
// [n0, n1), where du is the gradient at BatchNorm's output (zero where ReLU
// was off).
RELNET_SIMD void backward_sums(const float* __restrict x, const float* __restrict g, int64_t n0,
                               int64_t n1, const Shape& sh, const Tiled& t,
                               float* __restrict spread, float* __restrict s, float* __restrict q,
                               double* __restrict sum_du, double* __restrict sum_du_xhat) {
  const int64_t L = sh.W * sh.C;
  const float* __restrict scale = t.scale.data();
  const float* __restrict shift = t.shift.data();
  const float* __restrict mean = t.mean.data();
  const float* __restrict invstd = t.invstd.data();
  for (int64_t n = n0; n < n1; ++n) {
    for (int64_t j = 0; j < L; ++j) s[j] = q[j] = 0.f;
    for (int64_t h = 0; h < sh.H; ++h) {
      if (sh.global ? h == 0 : h % 2 == 0 || h >= 2 * sh.Ho()) spread_gradient(g, sh, n, h, spread);
      const float* __restrict line = x + (n * sh.H + h) * L;
      for (int64_t j = 0; j < L; ++j) {
        const float du = relu_gated(line[j], scale[j], shift[j], spread[j]);
        s[j] += du;
        q[j] += du * ((line[j] - mean[j]) * invstd[j]);
      }
    }
    fold_line(s, sh.W, sh.C, sum_du);
    fold_line(q, sh.W, sh.C, sum_du_xhat);
  }
}

// Backward, second pass: dx = gamma * invstd * (du - mean(du) - xhat *
// mean(du * xhat)) = a * du - b - c * xhat with per-channel a = scale, b, c
// (BatchNormGradient).
RELNET_SIMD void backward_dx(const float* __restrict x, const float* __restrict g,
                             float* __restrict dx, int64_t n0, int64_t n1, const Shape& sh,
                             const Tiled& t, float* __restrict spread) {
  const int64_t L = sh.W * sh.C;
  const float* __restrict scale = t.scale.data();
  const float* __restrict shift = t.shift.data();
  const float* __restrict mean = t.mean.data();
  const float* __restrict invstd = t.invstd.data();
  const float* __restrict a = t.a.data();
  const float* __restrict b = t.b.data();
  const float* __restrict c = t.c.data();
  for (int64_t n = n0; n < n1; ++n) {
    for (int64_t h = 0; h < sh.H; ++h) {
      // Lines 2i and 2i + 1 share a pooled row; the global pool, one for all.
      if (sh.global ? h == 0 : h % 2 == 0 || h >= 2 * sh.Ho()) spread_gradient(g, sh, n, h, spread);
      const int64_t offset = (n * sh.H + h) * L;
      const float* __restrict line = x + offset;
      float* __restrict out = dx + offset;
      for (int64_t j = 0; j < L; ++j) {
        const float du = relu_gated(line[j], scale[j], shift[j], spread[j]);
        out[j] = a[j] * du - b[j] - c[j] * ((line[j] - mean[j]) * invstd[j]);
      }
    }
  }
}

// v (C) repeated W times.
std::vector<float> tile(const float* v, int64_t C, int64_t W) {
  std::vector<float> out(W * C);
  for (int64_t w = 0; w < W; ++w) std::copy(v, v + C, out.begin() + w * C);
  return out;
}

Shape shape_of(const Tensor& x, bool global) {
  return {x.size(0), x.size(1), x.size(2), x.size(3), global};
}

// Channels-last view as (N*H*W, C) rows; the tensor keeps the memory alive.
Tensor rows_of(const Tensor& x) { return x.contiguous(at::MemoryFormat::ChannelsLast); }

class BatchNormReluPool : public torch::autograd::Function<BatchNormReluPool> {
 public:
  static Tensor forward(AutogradContext* ctx, const Tensor& input, const Tensor& gamma,
                        const Tensor& beta, Tensor running_mean, Tensor running_var,
                        double momentum, double eps, bool global) {
    const Tensor x = rows_of(input);
    const Shape sh = shape_of(x, global);
    const int64_t C = sh.C, HW = sh.H * sh.W, M = sh.N * HW;
    TORCH_CHECK(M > 1, "BatchNorm needs more than one value per channel, got input ", x.sizes());
    TORCH_CHECK(global || (sh.H >= 2 && sh.W >= 2), "2x2 average pooling of ", x.sizes());
    const float* xp = x.data_ptr<float>();

    // Batch statistics, over the N*H lines of W*C floats.
    const int64_t lines = sh.N * sh.H, L = sh.W * C;
    const int64_t chunks = chunk_count(lines, 64);
    std::vector<double> sums(2 * chunks * C, 0.0);
    std::vector<float> scratch(2 * chunks * L);
    parallel_chunks(lines, chunks, [&](int64_t k, int64_t l0, int64_t l1) {
      line_moments(xp, l0, l1, sh.W, C, &scratch[2 * k * L], &scratch[(2 * k + 1) * L],
                   &sums[2 * k * C], &sums[(2 * k + 1) * C]);
    });
    const BatchMoments m =
        batch_moments(sums, chunks, C, M, eps, running_mean, running_var, momentum);
    const Tensor& mean = m.mean;
    const Tensor& invstd = m.invstd;

    std::vector<float> scale(C), shift(C);
    const Tensor g32 = gamma.contiguous(), b32 = beta.contiguous();
    batchnorm_affine(g32.data_ptr<float>(), b32.data_ptr<float>(), mean.data_ptr<float>(),
                     invstd.data_ptr<float>(), C, scale.data(), shift.data());
    Tensor out = torch::empty({sh.N, C, sh.Ho(), sh.Wo()},
                              x.options().memory_format(at::MemoryFormat::ChannelsLast));
    float* op = out.data_ptr<float>();
    const int64_t image_chunks = chunk_count(sh.N, 8);
    std::vector<float> acc(image_chunks * C);
    parallel_chunks(sh.N, image_chunks, [&](int64_t k, int64_t n0, int64_t n1) {
      if (global) {
        forward_global(xp, op, n0, n1, sh, scale.data(), shift.data(), &acc[k * C]);
      } else {
        forward_avg2(xp, op, n0, n1, sh, scale.data(), shift.data());
      }
    });
    ctx->save_for_backward({x, g32, b32, mean, invstd});
    ctx->saved_data["global"] = global;
    return out;
  }

  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    const auto saved = ctx->get_saved_variables();
    const Tensor& x = saved[0];
    const Tensor& gamma = saved[1];
    const Tensor& beta = saved[2];
    const float* mean = saved[3].data_ptr<float>();
    const float* invstd = saved[4].data_ptr<float>();
    const bool global = ctx->saved_data["global"].toBool();
    const Shape sh = shape_of(x, global);
    const int64_t C = sh.C, M = sh.N * sh.H * sh.W;
    const Tensor g = grads[0].to(torch::kFloat32).contiguous(at::MemoryFormat::ChannelsLast);
    const float* gp = g.data_ptr<float>();
    const float* xp = x.data_ptr<float>();

    BatchNormGradient bn = batchnorm_gradient_constants(gamma.data_ptr<float>(),
                                                        beta.data_ptr<float>(), mean, invstd, C);
    const int64_t L = sh.W * C;
    Tiled t{tile(bn.scale.data(), C, sh.W),
            tile(bn.shift.data(), C, sh.W),
            tile(mean, C, sh.W),
            tile(invstd, C, sh.W),
            {},
            {},
            {}};
    const int64_t chunks = chunk_count(sh.N, 8);
    std::vector<double> sums(2 * chunks * C, 0.0);
    std::vector<float> scratch(3 * chunks * L);
    parallel_chunks(sh.N, chunks, [&](int64_t k, int64_t n0, int64_t n1) {
      backward_sums(xp, gp, n0, n1, sh, t, &scratch[3 * k * L], &scratch[(3 * k + 1) * L],
                    &scratch[(3 * k + 2) * L], &sums[2 * k * C], &sums[(2 * k + 1) * C]);
    });
    Tensor dgamma, dbeta;
    batchnorm_backward_totals(sums, chunks, static_cast<double>(M), bn, dgamma, dbeta);
    t.a = t.scale;
    t.b = tile(bn.b.data(), C, sh.W);
    t.c = tile(bn.c.data(), C, sh.W);
    Tensor dx = torch::empty_like(x, x.options().memory_format(at::MemoryFormat::ChannelsLast));
    float* dxp = dx.data_ptr<float>();
    parallel_chunks(sh.N, chunks, [&](int64_t k, int64_t n0, int64_t n1) {
      backward_dx(xp, gp, dxp, n0, n1, sh, t, &scratch[3 * k * L]);
    });
    return {dx, dgamma, dbeta, Tensor(), Tensor(), Tensor(), Tensor(), Tensor()};
  }
};

}  // namespace

bool fused_batchnorm_applies(const torch::Tensor& x) { return x.dim() == 4 && is_float_cpu(x); }

torch::Tensor batchnorm_relu_pool(const torch::Tensor& x, torch::nn::BatchNorm2dImpl& bn,
                                  FusedPool pool) {
  TORCH_CHECK(fused_batchnorm_applies(x), "fused BatchNorm takes 4-D float32 CPU tensors, got ",
              x.sizes(), " ", x.scalar_type(), " on ", x.device());
  const double momentum = start_batchnorm2d_step(bn, x.size(1));
  return BatchNormReluPool::apply(x, bn.weight, bn.bias, bn.running_mean, bn.running_var, momentum,
                                  bn.options.eps(), pool == FusedPool::kGlobal);
}

}  // namespace relnet
