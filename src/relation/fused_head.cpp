// Fused BatchNorm1d -> LeakyReLU -> Linear(H, 1) over relation pairs whose
// hidden rows are left[l_p] + right[r_p].
//
// The pairs are taken grouped by their left row (LeftGroups), so that a
// left row is loaded once for all its pairs. BatchNorm's variance and the
// whole backward pass work on one tile of 16 hidden units at a time, tiles
// split over the threads: every sum they make is per hidden unit, so a
// thread owns its tiles' sums outright (no per-thread copies of the per-row
// sums to add up, no locks), and a tile's per-row sums (R vectors) stay in
// the core's cache. The logits, a sum over all hidden units, are made pair
// by pair instead.
#include "relnet/relation/fused_head.h"

#include <algorithm>
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

using namespace vec16;  // NOLINT(build/namespaces): the kernel's vector vocabulary

constexpr int64_t kFlush = 32;  // pairs summed in float before a double accumulation

// The pairs grouped by their left row: the pairs of row l are entries
// [start[l], start[l + 1]), in their original order; entry e is pair
// pair[e], whose right row is right[e]. Tensors, so that the forward pass
// can save them for the backward pass.
struct LeftGroups {
  Tensor start, pair, right;       // int64 (R + 1), int32 (P), int32 (P)
  Tensor left_count, right_count;  // float64 (R): pairs using each row on each side
};

// What the kernels read of LeftGroups.
struct Groups {
  const int64_t* start;
  const int32_t* pair;
  const int32_t* right;
  int64_t rows, count;
  Groups(const Tensor& start_, const Tensor& pair_, const Tensor& right_)
      : start(start_.data_ptr<int64_t>()),
        pair(pair_.data_ptr<int32_t>()),
        right(right_.data_ptr<int32_t>()),
        rows(start_.numel() - 1),
        count(pair_.numel()) {}
};

LeftGroups group_by_left(const Tensor& left_index, const Tensor& right_index, int64_t R) {
  const int64_t P = left_index.numel();
  const int64_t* li = left_index.data_ptr<int64_t>();
  const int64_t* ri = right_index.data_ptr<int64_t>();
  TORCH_CHECK(R < (int64_t{1} << 31) && P < (int64_t{1} << 31),
              "fused relation head takes fewer than 2^31 rows and pairs");
  const auto i64 = torch::TensorOptions().dtype(torch::kInt64);
  const auto i32 = torch::TensorOptions().dtype(torch::kInt32);
  const auto f64 = torch::TensorOptions().dtype(torch::kFloat64);
  LeftGroups g{torch::zeros({R + 1}, i64), torch::empty({P}, i32), torch::empty({P}, i32),
               torch::zeros({R}, f64), torch::zeros({R}, f64)};
  int64_t* start = g.start.data_ptr<int64_t>();
  double* nl = g.left_count.data_ptr<double>();
  double* nr = g.right_count.data_ptr<double>();
  for (int64_t p = 0; p < P; ++p) {
    TORCH_CHECK(li[p] >= 0 && li[p] < R && ri[p] >= 0 && ri[p] < R, "fused relation head: pair ", p,
                " indexes rows ", li[p], " and ", ri[p], " of ", R);
    ++start[li[p] + 1];
    nl[li[p]] += 1;
    nr[ri[p]] += 1;
  }
  for (int64_t l = 0; l < R; ++l) start[l + 1] += start[l];
  std::vector<int64_t> next(start, start + R);
  int32_t* pair = g.pair.data_ptr<int32_t>();
  int32_t* right = g.right.data_ptr<int32_t>();
  for (int64_t p = 0; p < P; ++p) {
    const int64_t e = next[li[p]]++;
    pair[e] = static_cast<int32_t>(p);
    right[e] = static_cast<int32_t>(ri[p]);
  }
  return g;
}

// The kernels work on 16 hidden units at a time ("tiles") and on rows padded
// to Hp, a multiple of 16, with zeros (and gamma = beta = w = 0) past H.
int64_t padded(int64_t H) { return (H + kLanes - 1) / kLanes * kLanes; }

// Row stride of the kernels' copies of the projections: Hp floats and, where
// Hp / 16 is even, one more vector. The tile kernels read one 64-byte line
// per row, in a column; at a stride of a power of two bytes those lines fall
// into a few cache sets and evict each other long before the cache is full.
int64_t row_stride(int64_t H) {
  const int64_t Hp = padded(H);
  return (Hp / kLanes) % 2 == 0 ? Hp + kLanes : Hp;
}

// Over rows [r0, r1): sums[k] += n_left[r] left[r, k] + n_right[r] right[r, k],
// in double.
RELNET_SIMD void weighted_row_sums(const float* __restrict left, const float* __restrict right,
                                   const double* __restrict n_left,
                                   const double* __restrict n_right, int64_t r0, int64_t r1,
                                   int64_t H, double* __restrict sums) {
  for (int64_t r = r0; r < r1; ++r) {
    const double a = n_left[r], b = n_right[r];
    for (int64_t k = 0; k < H; ++k) {
      sums[k] +=
          a * static_cast<double>(left[r * H + k]) + b * static_cast<double>(right[r * H + k]);
    }
  }
}

// Rows [r0, r1) of x (R, H) minus `shift` (H), into rows of S floats, zero
// past H.
RELNET_SIMD void shifted_padded_rows(const float* __restrict x, const float* __restrict shift,
                                     int64_t r0, int64_t r1, int64_t H, int64_t S,
                                     float* __restrict out) {
  for (int64_t r = r0; r < r1; ++r) {
    for (int64_t k = 0; k < H; ++k) out[r * S + k] = x[r * H + k] - shift[k];
    for (int64_t k = H; k < S; ++k) out[r * S + k] = 0.f;
  }
}

// x (H values) followed by zeros up to n.
Tensor padded_vector(const Tensor& x, int64_t n) {
  Tensor out = torch::zeros({n}, x.options());
  out.narrow(0, 0, x.numel()).copy_(x.reshape({-1}));
  return out;
}

// Runs fn(t) for every tile t of Hp hidden units, tiles split over the
// intra-op threads.
template <typename Fn>
void for_each_tile(int64_t Hp, const Fn& fn) {
  const int64_t tiles = Hp / kLanes;
  parallel_chunks(tiles, chunk_count(tiles, 1), [&](int64_t, int64_t t0, int64_t t1) {
    for (int64_t t = t0; t < t1; ++t) fn(t);
  });
}

RELNET_INLINE void add_lanes(double* __restrict to, vec v) {
  for (int64_t j = 0; j < kLanes; ++j) to[j] += v[j];
}

// Per hidden unit of tile t: the sum over pairs of (xa[l] + xb[r])^2.
RELNET_SIMD void tile_sq_sums(const float* __restrict xa, const float* __restrict xb,
                              const Groups& groups, int64_t S, int64_t t,
                              double* __restrict sumsq) {
  const int64_t o = t * kLanes;
  for (int64_t l = 0; l < groups.rows; ++l) {
    const vec a = load(xa + l * S + o);
    for (int64_t b = groups.start[l]; b < groups.start[l + 1]; b += kFlush) {
      const int64_t e = std::min(groups.start[l + 1], b + kFlush);
      vec q = vec{};
      for (int64_t i = b; i < e; ++i) {
        const vec d = a + load(xb + int64_t{groups.right[i]} * S + o);
        q += d * d;
      }
      add_lanes(sumsq, q);
    }
  }
}

// logits[p] = sum_k w_k * leaky(gamma_k * (xa[l] + xb[r])_k + beta_k) + bias
// for pairs [p0, p1).
RELNET_SIMD void pair_logits(const float* __restrict xa, const float* __restrict xb,
                             const int64_t* __restrict left, const int64_t* __restrict right,
                             int64_t p0, int64_t p1, int64_t Hp, int64_t S,
                             const float* __restrict gamma, const float* __restrict beta,
                             const float* __restrict w, float bias, float slope,
                             float* __restrict logits) {
  for (int64_t p = p0; p < p1; ++p) {
    const float* a = xa + left[p] * S;
    const float* c = xb + right[p] * S;
    vec acc = vec{};
    for (int64_t k = 0; k < Hp; k += kLanes) {
      const vec u = load(gamma + k) * (load(a + k) + load(c + k)) + load(beta + k);
      acc += load(w + k) * (u > 0.f ? u : slope * u);
    }
    logits[p] = bias + lane_sum(acc);
  }
}

// The backward pass, per tile t of 16 hidden units, in two passes over the
// pairs grouped by left row. u = gamma xhat + beta is a pair's BatchNorm
// output and du = g w leaky'(u) the gradient there (g: the logit's
// gradient).
//
// First pass: the totals over the pairs of d fc.weight (sum g leaky(u)),
// d beta (sum du) and d gamma (sum du xhat).
struct TileSums {
  double dw[kLanes], dbeta[kLanes], dgamma[kLanes];
};

RELNET_SIMD void tile_totals(const float* __restrict xa, const float* __restrict xb,
                             const Groups& groups, const float* __restrict grad, int64_t S,
                             int64_t t, const float* __restrict gamma, const float* __restrict beta,
                             const float* __restrict w, float slope, TileSums& sums) {
  const int64_t o = t * kLanes;
  const vec G = load(gamma + o), Bt = load(beta + o), W = load(w + o);
  const vec slopes = splat(slope), ones = splat(1.f);
  for (int64_t l = 0; l < groups.rows; ++l) {
    const vec a = load(xa + l * S + o);
    for (int64_t b = groups.start[l]; b < groups.start[l + 1]; b += kFlush) {
      const int64_t e = std::min(groups.start[l + 1], b + kFlush);
      vec pw = vec{}, pb = vec{}, pg = vec{};
      for (int64_t i = b; i < e; ++i) {
        const float g = grad[i];
        const vec xh = a + load(xb + int64_t{groups.right[i]} * S + o);
        const vec u = G * xh + Bt;
        const vec on = u > 0.f ? ones : slopes;
        pw += g * (u * on);
        const vec du = (g * W) * on;
        pb += du;
        pg += du * xh;
      }
      add_lanes(sums.dw, pw);
      add_lanes(sums.dbeta, pb);
      add_lanes(sums.dgamma, pg);
    }
  }
}

// Second pass: BatchNorm's input gradient of each pair, dx = A du - A dbeta /
// P - A dgamma / P xhat (A = gamma invstd), summed over the pairs that use a
// row on the left (dx_left, kept in registers over the row's pairs) and on
// the right (dx_right).
RELNET_SIMD void tile_input_gradient(const float* __restrict xa, const float* __restrict xb,
                                     const Groups& groups, const float* __restrict grad, int64_t S,
                                     int64_t t, const float* __restrict gamma,
                                     const float* __restrict beta, const float* __restrict w,
                                     float slope, const float* __restrict A,
                                     const float* __restrict AB, const float* __restrict AC,
                                     vec* __restrict dx_left, vec* __restrict dx_right) {
  const int64_t o = t * kLanes;
  const vec G = load(gamma + o), Bt = load(beta + o), W = load(w + o);
  const vec a_ = load(A), ab = load(AB), ac = load(AC);
  const vec slopes = splat(slope), ones = splat(1.f);
  for (int64_t r = 0; r < groups.rows; ++r) dx_right[r] = vec{};
  for (int64_t l = 0; l < groups.rows; ++l) {
    const vec a = load(xa + l * S + o);
    vec dl = vec{};
    for (int64_t i = groups.start[l]; i < groups.start[l + 1]; ++i) {
      const int64_t r = groups.right[i];
      const vec xh = a + load(xb + r * S + o);
      const vec u = G * xh + Bt;
      const vec du = (grad[i] * W) * (u > 0.f ? ones : slopes);
      const vec dx = a_ * du - ab - ac * xh;
      dl += dx;
      dx_right[r] += dx;
    }
    dx_left[l] = dl;
  }
}

// Lanes [0, lanes) of rows[i] into out[i * H, ...].
void store_rows(const vec* rows, int64_t R, int64_t lanes, float* out, int64_t H) {
  for (int64_t i = 0; i < R; ++i) {
    for (int64_t j = 0; j < lanes; ++j) out[i * H + j] = rows[i][j];
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
    const int64_t Hp = padded(H), S = row_stride(H);
    const LeftGroups grouped = group_by_left(li, ri, R);
    const Groups groups(grouped.start, grouped.pair, grouped.right);

    // Mean of left[l_p] + right[r_p] over the pairs, from how often each row
    // is used: count_left . left + count_right . right, in double, by bands
    // of rows added in order.
    const float* lp = left.data_ptr<float>();
    const float* rp = right.data_ptr<float>();
    const int64_t bands = chunk_count(R, 64);
    std::vector<double> band_sums(bands * H, 0.0);
    parallel_chunks(R, bands, [&](int64_t c, int64_t r0, int64_t r1) {
      weighted_row_sums(lp, rp, grouped.left_count.data_ptr<double>(),
                        grouped.right_count.data_ptr<double>(), r0, r1, H, &band_sums[c * H]);
    });
    const auto opts64 = torch::TensorOptions().dtype(torch::kFloat64);
    Tensor mean = torch::zeros({H}, opts64);
    for (int64_t c = 0; c < bands; ++c) {
      mean.add_(torch::from_blob(&band_sums[c * H], {H}, opts64));
    }
    mean.div_(static_cast<double>(P));
    // Variance: centred squares, the pairs' hidden rows rebuilt on the fly.
    const Tensor mean32 = mean.to(torch::kFloat32);
    const std::vector<float> zero(H, 0.f);
    Tensor xa = torch::empty({R, S}, left.options()), xb = torch::empty({R, S}, left.options());
    parallel_chunks(R, chunk_count(R, 64), [&](int64_t, int64_t r0, int64_t r1) {
      shifted_padded_rows(lp, mean32.data_ptr<float>(), r0, r1, H, S, xa.data_ptr<float>());
      shifted_padded_rows(rp, zero.data(), r0, r1, H, S, xb.data_ptr<float>());
    });
    std::vector<double> sq(Hp, 0.0);
    for_each_tile(Hp, [&](int64_t t) {
      tile_sq_sums(xa.data_ptr<float>(), xb.data_ptr<float>(), groups, S, t, &sq[t * kLanes]);
    });
    const Tensor var = torch::from_blob(sq.data(), {Hp}, opts64).narrow(0, 0, H) / double(P);
    const Tensor invstd = padded_vector(var.add(eps).rsqrt_().to(torch::kFloat32), S);
    update_running_statistics(running_mean, running_var, mean, var, P, momentum);  // as BatchNorm1d
    // xhat_p = xa[l_p] + xb[r_p]: the normalised hidden row of pair p.
    xa.mul_(invstd);
    xb.mul_(invstd);
    const Tensor gamma = padded_vector(gamma_in, Hp), beta = padded_vector(beta_in, Hp);
    const Tensor w = padded_vector(w_in, Hp);
    Tensor logits = torch::empty({P}, left.options());
    const float bias = bias_in.item<float>();
    parallel_chunks(P, chunk_count(P, 2048), [&](int64_t, int64_t p0, int64_t p1) {
      pair_logits(xa.data_ptr<float>(), xb.data_ptr<float>(), li.data_ptr<int64_t>(),
                  ri.data_ptr<int64_t>(), p0, p1, Hp, S, gamma.data_ptr<float>(),
                  beta.data_ptr<float>(), w.data_ptr<float>(), bias, static_cast<float>(slope),
                  logits.data_ptr<float>());
    });
    ctx->save_for_backward(
        {xa, xb, gamma, beta, w, invstd, grouped.start, grouped.pair, grouped.right});
    ctx->saved_data["slope"] = slope;
    ctx->saved_data["H"] = H;
    return logits;
  }

  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    const auto saved = ctx->get_saved_variables();
    const Tensor &xa = saved[0], &xb = saved[1], &gamma = saved[2], &beta = saved[3];
    const Tensor &w = saved[4], &invstd = saved[5];
    const float slope = static_cast<float>(ctx->saved_data["slope"].toDouble());
    const int64_t H = ctx->saved_data["H"].toInt();
    const Groups groups(saved[6], saved[7], saved[8]);
    const int64_t R = xa.size(0), S = xa.size(1), Hp = padded(H), P = groups.count;
    const Tensor grad_in = grads[0].to(torch::kFloat32).contiguous();
    // The logits' gradient in the grouped order.
    std::vector<float> grad(P);
    double dbias = 0.0;
    {
      const float* gi = grad_in.data_ptr<float>();
      for (int64_t e = 0; e < P; ++e) grad[e] = gi[groups.pair[e]];
      for (int64_t p = 0; p < P; ++p) dbias += gi[p];
    }
    Tensor dgamma = torch::empty({H}, xa.options()), dbeta = torch::empty({H}, xa.options());
    Tensor dw = torch::empty({1, H}, xa.options());
    Tensor dleft = torch::empty({R, H}, xa.options()), dright = torch::empty({R, H}, xa.options());
    const float* gp = gamma.data_ptr<float>();
    const float* is = invstd.data_ptr<float>();
    const int64_t tiles = Hp / kLanes;
    parallel_chunks(tiles, chunk_count(tiles, 1), [&](int64_t, int64_t t0, int64_t t1) {
      VecBuffer rows(2 * R);
      vec *dx_left = rows.data(), *dx_right = dx_left + R;
      const float *xap = xa.data_ptr<float>(), *xbp = xb.data_ptr<float>();
      const float *bp = beta.data_ptr<float>(), *wp = w.data_ptr<float>();
      for (int64_t t = t0; t < t1; ++t) {
        TileSums s{};
        tile_totals(xap, xbp, groups, grad.data(), S, t, gp, bp, wp, slope, s);
        const int64_t o = t * kLanes, lanes = std::min(kLanes, H - o);
        alignas(64) float a[kLanes] = {}, ab[kLanes] = {}, ac[kLanes] = {};
        for (int64_t j = 0; j < lanes; ++j) {
          a[j] = gp[o + j] * is[o + j];
          ab[j] = static_cast<float>(a[j] * s.dbeta[j] / static_cast<double>(P));
          ac[j] = static_cast<float>(a[j] * s.dgamma[j] / static_cast<double>(P));
          dgamma.data_ptr<float>()[o + j] = static_cast<float>(s.dgamma[j]);
          dbeta.data_ptr<float>()[o + j] = static_cast<float>(s.dbeta[j]);
          dw.data_ptr<float>()[o + j] = static_cast<float>(s.dw[j]);
        }
        tile_input_gradient(xap, xbp, groups, grad.data(), S, t, gp, bp, wp, slope, a, ab, ac,
                            dx_left, dx_right);
        store_rows(dx_left, R, lanes, dleft.data_ptr<float>() + o, H);
        store_rows(dx_right, R, lanes, dright.data_ptr<float>() + o, H);
      }
    });
    Tensor dbias_t = torch::full({1}, static_cast<float>(dbias), xa.options());
    return {dleft,    dright,   dgamma,   dbeta,    dw,       dbias_t, Tensor(),
            Tensor(), Tensor(), Tensor(), Tensor(), Tensor(), Tensor()};
  }
};

// left = x wa^T, right = x wb^T + bias for wa, wb the two halves of the
// first Linear's weight (H, 2D): the cat head's per-view projections, each
// thread multiplying a band of rows of x. One BLAS call on K*B = 2,048 rows
// by 64 runs on one thread (relnet leaves BLAS a single thread: see
// util/runtime.h), so the two bands run side by side instead.
class ViewProjections : public torch::autograd::Function<ViewProjections> {
 public:
  static variable_list forward(AutogradContext* ctx, const Tensor& x_in, const Tensor& weight,
                               const Tensor& bias) {
    const Tensor x = x_in.contiguous();
    const int64_t N = x.size(0), D = x.size(1), H = weight.size(0);
    const Tensor wa_t = weight.narrow(1, 0, D).t(), wb_t = weight.narrow(1, D, D).t();
    Tensor left = torch::empty({N, H}, x.options()), right = torch::empty({N, H}, x.options());
    parallel_chunks(N, chunk_count(N, 256), [&](int64_t, int64_t n0, int64_t n1) {
      torch::NoGradGuard no_grad;  // grad mode is per thread: off on the pool's threads too
      const Tensor xs = x.narrow(0, n0, n1 - n0);
      Tensor ls = left.narrow(0, n0, n1 - n0), rs = right.narrow(0, n0, n1 - n0);
      at::mm_out(ls, xs, wa_t);
      at::addmm_out(rs, bias, xs, wb_t);
    });
    ctx->save_for_backward({x, weight});
    return {left, right};
  }

  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    const auto saved = ctx->get_saved_variables();
    const Tensor &x = saved[0], &weight = saved[1];
    const int64_t N = x.size(0), D = x.size(1), H = weight.size(0);
    const auto grad_of = [&](int i) {
      return grads[i].defined() ? grads[i].contiguous() : torch::zeros({N, H}, x.options());
    };
    const Tensor dleft = grad_of(0), dright = grad_of(1);
    const Tensor wa = weight.narrow(1, 0, D), wb = weight.narrow(1, D, D);
    Tensor dx = torch::empty({N, D}, x.options());
    Tensor dweight = torch::empty({H, 2 * D}, weight.options());
    // d x = dleft wa + dright wb, by bands of rows; d weight = [dleft^T x,
    // dright^T x], by bands of hidden units.
    const int64_t chunks = chunk_count(N, 256);
    parallel_chunks(N, chunks, [&](int64_t c, int64_t n0, int64_t n1) {
      torch::NoGradGuard no_grad;
      Tensor dxs = dx.narrow(0, n0, n1 - n0);
      at::mm_out(dxs, dleft.narrow(0, n0, n1 - n0), wa);
      dxs.addmm_(dright.narrow(0, n0, n1 - n0), wb);
      const int64_t h0 = H * c / chunks, h1 = H * (c + 1) / chunks;
      if (h1 > h0) {
        Tensor dwa = dweight.narrow(0, h0, h1 - h0).narrow(1, 0, D);
        Tensor dwb = dweight.narrow(0, h0, h1 - h0).narrow(1, D, D);
        at::mm_out(dwa, dleft.narrow(1, h0, h1 - h0).t(), x);
        at::mm_out(dwb, dright.narrow(1, h0, h1 - h0).t(), x);
      }
    });
    return {dx, dweight, dright.sum(0)};
  }
};

}  // namespace

bool fused_pair_head_applies(const torch::Tensor& left, const torch::Tensor& right) {
  return left.dim() == 2 && right.sizes() == left.sizes() && is_float_cpu(left) &&
         is_float_cpu(right);
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

bool view_projections_apply(const torch::Tensor& features, const torch::Tensor& weight) {
  return features.dim() == 2 && weight.dim() == 2 && weight.size(1) == 2 * features.size(1) &&
         is_float_cpu(features) && is_float_cpu(weight);
}

std::pair<torch::Tensor, torch::Tensor> view_projections(const torch::Tensor& features,
                                                         const torch::Tensor& weight,
                                                         const torch::Tensor& bias) {
  TORCH_CHECK(view_projections_apply(features, weight),
              "view projections take float32 CPU features (N, D) and a weight (H, 2D), got ",
              features.sizes(), " and ", weight.sizes());
  TORCH_CHECK(bias.dim() == 1 && bias.size(0) == weight.size(0), "view projections need a bias of ",
              weight.size(0), " values, got ", bias.sizes());
  const auto out = ViewProjections::apply(features, weight, bias);
  return {out[0], out[1]};
}

}  // namespace relnet
