// Fused BatchNorm1d -> LeakyReLU -> Linear(H, 1) over relation pairs whose
// hidden rows are left[l_p] + right[r_p].
#include "relnet/relation/fused_head.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "relnet/util/batchnorm.h"
#include "relnet/util/parallel.h"

namespace relnet {
namespace {

using torch::Tensor;
using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

constexpr int64_t kFlush = 32;  // pairs summed in float before a double accumulation
constexpr int64_t kLanes = 16;  // partial sums of a dot product

// LeakyReLU and its derivative in the one form of selects (between a value
// and a constant) that GCC vectorises for AVX2 as well as AVX-512.
RELNET_INLINE float leaky(float u, float slope) {
  return (u > 0.f ? u : 0.f) + slope * (u > 0.f ? 0.f : u);
}
RELNET_INLINE float leaky_slope(float u, float slope) { return u > 0.f ? 1.f : slope; }

struct Pairs {
  const int64_t* left;
  const int64_t* right;
  int64_t count;
};

// Sum over pairs [p0, p1) of (lc[l] + r[r])^2 per hidden unit, lc = left - mean.
RELNET_SIMD void pair_sq_sums(const float* lc, const float* right, const Pairs& pairs, int64_t p0,
                              int64_t p1, int64_t H, float* q, double* sumsq) {
  for (int64_t b = p0; b < p1; b += kFlush) {
    const int64_t e = std::min(p1, b + kFlush);
    for (int64_t k = 0; k < H; ++k) q[k] = 0.f;
    for (int64_t p = b; p < e; ++p) {
      const float* __restrict a = lc + pairs.left[p] * H;
      const float* __restrict r = right + pairs.right[p] * H;
      for (int64_t k = 0; k < H; ++k) {
        const float d = a[k] + r[k];
        q[k] += d * d;
      }
    }
    for (int64_t k = 0; k < H; ++k) sumsq[k] += q[k];
  }
}

// logits[p] = sum_k w_k * leaky(gamma_k * (xa[l] + xb[r])_k + beta_k) + bias.
RELNET_SIMD void pair_logits(const float* xa, const float* xb, const Pairs& pairs, int64_t p0,
                             int64_t p1, int64_t H, const float* gamma, const float* beta,
                             const float* w, float bias, float slope, float* logits) {
  const int64_t Hv = H - H % kLanes;
  for (int64_t p = p0; p < p1; ++p) {
    const float* __restrict a = xa + pairs.left[p] * H;
    const float* __restrict r = xb + pairs.right[p] * H;
    float acc[kLanes] = {};
    for (int64_t k0 = 0; k0 < Hv; k0 += kLanes) {
      for (int64_t j = 0; j < kLanes; ++j) {
        const int64_t k = k0 + j;
        const float u = gamma[k] * (a[k] + r[k]) + beta[k];
        acc[j] += w[k] * leaky(u, slope);
      }
    }
    float sum = bias;
    for (int64_t k = Hv; k < H; ++k) {
      const float u = gamma[k] * (a[k] + r[k]) + beta[k];
      sum += w[k] * leaky(u, slope);
    }
    for (int64_t j = 0; j < kLanes; ++j) sum += acc[j];
    logits[p] = sum;
  }
}

// Per-chunk accumulators of the backward pass.
struct BackwardSums {
  // Per hidden unit, in double: d fc.weight, d beta (= sum du), d gamma
  // (= sum du * xhat); and d fc.bias.
  std::vector<double> dw, dbeta, dgamma;
  double dbias = 0;
  // Per projection row (R x H): sums of du and of xhat over the pairs that
  // use the row on the left, and on the right.
  std::vector<float> du_left, xhat_left, du_right, xhat_right;
};

RELNET_SIMD void pair_backward(const float* __restrict xa, const float* __restrict xb,
                               const Pairs& pairs, int64_t p0, int64_t p1, int64_t H,
                               const float* __restrict gamma, const float* __restrict beta,
                               const float* __restrict w, float slope, const float* __restrict grad,
                               float* __restrict scratch, BackwardSums& s) {
  float* __restrict pw = scratch;
  float* __restrict pb = scratch + H;
  float* __restrict pg = scratch + 2 * H;
  for (int64_t b = p0; b < p1; b += kFlush) {
    const int64_t e = std::min(p1, b + kFlush);
    for (int64_t k = 0; k < 3 * H; ++k) scratch[k] = 0.f;
    for (int64_t p = b; p < e; ++p) {
      const int64_t l = pairs.left[p], r = pairs.right[p];
      const float* __restrict a = xa + l * H;
      const float* __restrict c = xb + r * H;
      float* __restrict sl = s.du_left.data() + l * H;
      float* __restrict xl = s.xhat_left.data() + l * H;
      float* __restrict sr = s.du_right.data() + r * H;
      float* __restrict xr = s.xhat_right.data() + r * H;
      const float g = grad[p];
      s.dbias += g;
      for (int64_t k = 0; k < H; ++k) {
        const float xh = a[k] + c[k];
        const float u = gamma[k] * xh + beta[k];
        pw[k] += g * leaky(u, slope);
        const float du = g * w[k] * leaky_slope(u, slope);
        pb[k] += du;
        pg[k] += du * xh;
        sl[k] += du;
        xl[k] += xh;
        sr[k] += du;
        xr[k] += xh;
      }
    }
    for (int64_t k = 0; k < H; ++k) {
      s.dw[k] += pw[k];
      s.dbeta[k] += pb[k];
      s.dgamma[k] += pg[k];
    }
  }
}

// Pairs using each row on the left and on the right.
void row_counts(const Pairs& pairs, int64_t rows, std::vector<double>& left,
                std::vector<double>& right) {
  left.assign(rows, 0.0);
  right.assign(rows, 0.0);
  for (int64_t p = 0; p < pairs.count; ++p) {
    left[pairs.left[p]] += 1;
    right[pairs.right[p]] += 1;
  }
}

class FusedPairHead : public torch::autograd::Function<FusedPairHead> {
 public:
  static Tensor forward(AutogradContext* ctx, const Tensor& left_in, const Tensor& right_in,
                        const Tensor& gamma_in, const Tensor& beta_in, const Tensor& w_in,
                        const Tensor& bias_in, const Tensor& left_index, const Tensor& right_index,
                        Tensor running_mean, Tensor running_var, double momentum, double eps,
                        double slope) {
    const Tensor left = left_in.contiguous(), right = right_in.contiguous();
    const Tensor li = left_index.contiguous(), ri = right_index.contiguous();
    const int64_t R = left.size(0), H = left.size(1), P = li.numel();
    const Pairs pairs{li.data_ptr<int64_t>(), ri.data_ptr<int64_t>(), P};
    const float* lp = left.data_ptr<float>();
    const float* rp = right.data_ptr<float>();

    // Mean of left[l_p] + right[r_p] over the pairs, from how often each row is used.
    std::vector<double> count_left, count_right;
    row_counts(pairs, R, count_left, count_right);
    std::vector<double> mean(H, 0.0);
    for (int64_t i = 0; i < R; ++i) {
      for (int64_t k = 0; k < H; ++k) {
        mean[k] += count_left[i] * lp[i * H + k] + count_right[i] * rp[i * H + k];
      }
    }
    for (auto& m : mean) m /= static_cast<double>(P);
    // Variance: centred squares, the pairs' hidden rows rebuilt on the fly.
    Tensor left_centred = torch::empty_like(left);
    float* lc = left_centred.data_ptr<float>();
    for (int64_t i = 0; i < R; ++i) {
      for (int64_t k = 0; k < H; ++k) lc[i * H + k] = lp[i * H + k] - static_cast<float>(mean[k]);
    }
    const int64_t chunks = chunk_count(P, 2048);
    std::vector<double> sq(chunks * H, 0.0);
    std::vector<float> scratch(chunks * H);
    parallel_chunks(P, chunks, [&](int64_t c, int64_t p0, int64_t p1) {
      pair_sq_sums(lc, rp, pairs, p0, p1, H, &scratch[c * H], &sq[c * H]);
    });
    std::vector<double> var(H, 0.0);
    Tensor invstd = torch::empty({H}, left.options());
    float* is = invstd.data_ptr<float>();
    for (int64_t k = 0; k < H; ++k) {
      for (int64_t c = 0; c < chunks; ++c) var[k] += sq[c * H + k];
      var[k] /= static_cast<double>(P);
      is[k] = static_cast<float>(1.0 / std::sqrt(var[k] + eps));
    }
    {  // running statistics, as BatchNorm1d in training mode
      torch::NoGradGuard no_grad;
      const Tensor m = torch::tensor(mean, torch::kFloat64);
      const Tensor v = torch::tensor(var, torch::kFloat64).mul_(double(P) / double(P - 1));
      running_mean.mul_(1 - momentum).add_(m.to(running_mean.dtype()), momentum);
      running_var.mul_(1 - momentum).add_(v.to(running_var.dtype()), momentum);
    }
    // xhat_p = xa[l_p] + xb[r_p]: the normalised hidden row of pair p.
    Tensor xa = left_centred.mul_(invstd);
    Tensor xb = right * invstd;
    const Tensor gamma = gamma_in.contiguous(), beta = beta_in.contiguous();
    const Tensor w = w_in.contiguous();
    Tensor logits = torch::empty({P}, left.options());
    const float bias = bias_in.item<float>();
    parallel_chunks(P, chunks, [&](int64_t, int64_t p0, int64_t p1) {
      pair_logits(xa.data_ptr<float>(), xb.data_ptr<float>(), pairs, p0, p1, H,
                  gamma.data_ptr<float>(), beta.data_ptr<float>(), w.data_ptr<float>(), bias,
                  static_cast<float>(slope), logits.data_ptr<float>());
    });
    ctx->save_for_backward({xa, xb, li, ri, gamma, beta, w, invstd});
    ctx->saved_data["slope"] = slope;
    return logits;
  }

  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    const auto saved = ctx->get_saved_variables();
    const Tensor &xa = saved[0], &xb = saved[1], &li = saved[2], &ri = saved[3];
    const Tensor &gamma = saved[4], &beta = saved[5], &w = saved[6], &invstd = saved[7];
    const float slope = static_cast<float>(ctx->saved_data["slope"].toDouble());
    const int64_t R = xa.size(0), H = xa.size(1), P = li.numel();
    const Pairs pairs{li.data_ptr<int64_t>(), ri.data_ptr<int64_t>(), P};
    const Tensor grad = grads[0].to(torch::kFloat32).contiguous();

    const int64_t chunks = chunk_count(P, 2048);
    std::vector<BackwardSums> sums(chunks);
    std::vector<float> scratch(chunks * 3 * H);
    parallel_chunks(P, chunks, [&](int64_t c, int64_t p0, int64_t p1) {
      BackwardSums& s = sums[c];
      s.dw.assign(H, 0.0);
      s.dbeta.assign(H, 0.0);
      s.dgamma.assign(H, 0.0);
      for (auto* v : {&s.du_left, &s.xhat_left, &s.du_right, &s.xhat_right}) v->assign(R * H, 0.f);
      pair_backward(xa.data_ptr<float>(), xb.data_ptr<float>(), pairs, p0, p1, H,
                    gamma.data_ptr<float>(), beta.data_ptr<float>(), w.data_ptr<float>(), slope,
                    grad.data_ptr<float>(), &scratch[c * 3 * H], s);
    });
    for (int64_t c = 1; c < chunks; ++c) {  // into chunk 0
      for (int64_t k = 0; k < H; ++k) {
        sums[0].dw[k] += sums[c].dw[k];
        sums[0].dbeta[k] += sums[c].dbeta[k];
        sums[0].dgamma[k] += sums[c].dgamma[k];
      }
      sums[0].dbias += sums[c].dbias;
      for (auto [to, from] : {std::pair{&sums[0].du_left, &sums[c].du_left},
                              std::pair{&sums[0].xhat_left, &sums[c].xhat_left},
                              std::pair{&sums[0].du_right, &sums[c].du_right},
                              std::pair{&sums[0].xhat_right, &sums[c].xhat_right}}) {
        for (int64_t i = 0; i < R * H; ++i) (*to)[i] += (*from)[i];
      }
    }
    const BackwardSums& s = sums[0];
    std::vector<double> count_left, count_right;
    row_counts(pairs, R, count_left, count_right);
    // d hidden_p = gamma * invstd * (du_p - dbeta / P - xhat_p * dgamma / P),
    // summed over the pairs that use a row.
    const float* g = gamma.data_ptr<float>();
    const float* is = invstd.data_ptr<float>();
    std::vector<float> a(H), b(H), cc(H);
    Tensor dgamma = torch::empty({H}, gamma.options()), dbeta = torch::empty({H}, gamma.options());
    Tensor dw = torch::empty({1, H}, gamma.options());
    for (int64_t k = 0; k < H; ++k) {
      a[k] = g[k] * is[k];
      b[k] = static_cast<float>(a[k] * s.dbeta[k] / static_cast<double>(P));
      cc[k] = static_cast<float>(a[k] * s.dgamma[k] / static_cast<double>(P));
      dgamma.data_ptr<float>()[k] = static_cast<float>(s.dgamma[k]);
      dbeta.data_ptr<float>()[k] = static_cast<float>(s.dbeta[k]);
      dw.data_ptr<float>()[k] = static_cast<float>(s.dw[k]);
    }
    Tensor dleft = torch::empty({R, H}, xa.options()), dright = torch::empty({R, H}, xa.options());
    float* dl = dleft.data_ptr<float>();
    float* dr = dright.data_ptr<float>();
    for (int64_t i = 0; i < R; ++i) {
      const float nl = static_cast<float>(count_left[i]), nr = static_cast<float>(count_right[i]);
      for (int64_t k = 0; k < H; ++k) {
        const int64_t o = i * H + k;
        dl[o] = a[k] * s.du_left[o] - nl * b[k] - cc[k] * s.xhat_left[o];
        dr[o] = a[k] * s.du_right[o] - nr * b[k] - cc[k] * s.xhat_right[o];
      }
    }
    Tensor dbias = torch::full({1}, static_cast<float>(s.dbias), gamma.options());
    return {dleft,    dright,   dgamma,   dbeta,    dw,       dbias,   Tensor(),
            Tensor(), Tensor(), Tensor(), Tensor(), Tensor(), Tensor()};
  }
};

}  // namespace

bool fused_pair_head_applies(const torch::Tensor& left, const torch::Tensor& right) {
  return left.dim() == 2 && right.sizes() == left.sizes() && left.device().is_cpu() &&
         right.device().is_cpu() && left.scalar_type() == torch::kFloat32 &&
         right.scalar_type() == torch::kFloat32;
}

torch::Tensor fused_pair_head(const torch::Tensor& left, const torch::Tensor& right,
                              const torch::Tensor& left_index, const torch::Tensor& right_index,
                              torch::nn::BatchNorm1dImpl& bn, torch::nn::LinearImpl& fc,
                              double negative_slope) {
  TORCH_CHECK(fused_pair_head_applies(left, right),
              "fused relation head takes two equal-shaped 2-D float32 CPU tensors, got ",
              left.sizes(), " and ", right.sizes());
  TORCH_CHECK(left_index.numel() == right_index.numel() && left_index.numel() > 1 &&
                  left_index.scalar_type() == torch::kInt64 &&
                  right_index.scalar_type() == torch::kInt64,
              "fused relation head needs two equal-length int64 pair indices");
  TORCH_CHECK(bn.options.affine() && bn.options.track_running_stats() &&
                  bn.options.num_features() == left.size(1),
              "fused relation head needs an affine BatchNorm1d of ", left.size(1), " features");
  TORCH_CHECK(fc.weight.size(0) == 1 && fc.weight.size(1) == left.size(1) && fc.bias.defined(),
              "fused relation head needs Linear(", left.size(1), ", 1) with a bias");
  const double momentum = count_batchnorm_step(bn.num_batches_tracked, bn.options.momentum());
  return FusedPairHead::apply(left, right, bn.weight, bn.bias, fc.weight, fc.bias, left_index,
                              right_index, bn.running_mean, bn.running_var, momentum,
                              bn.options.eps(), negative_slope);
}

}  // namespace relnet
