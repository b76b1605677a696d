// 16-float vectors (GCC vector extensions) for relnet's convolution kernels:
// one AVX-512 register, two AVX2 registers, four SSE registers, as the
// RELNET_SIMD clone compiling the kernel allows. Private to relnet_core: it
// turns off -Wpsabi for every file that includes it.
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <new>

#include "kernels/simd.h"

#if defined(__GNUC__) && !defined(__clang__)
// Vectors of 64 bytes live in registers inside the kernels and are never
// passed between functions of different instruction sets.
#pragma GCC diagnostic ignored "-Wpsabi"
#endif

namespace relnet {
namespace vec16 {

constexpr int64_t kLanes = 16;

typedef float vec __attribute__((vector_size(64)));
typedef float vec_u __attribute__((vector_size(64), aligned(4)));
typedef int32_t ivec __attribute__((vector_size(64)));

RELNET_INLINE vec load(const float* p) { return *reinterpret_cast<const vec_u*>(p); }
RELNET_INLINE void store(float* p, vec v) { *reinterpret_cast<vec_u*>(p) = v; }
RELNET_INLINE vec splat(float v) { return vec{} + v; }
// NaN stays NaN, as in torch::relu: a diverging run must show in the loss.
RELNET_INLINE vec relu(vec v) { return v < 0.f ? vec{} : v; }
RELNET_INLINE float lane_sum(vec v) {
  float s = 0.f;
  for (int64_t l = 0; l < kLanes; ++l) s += v[l];
  return s;
}

// Asks the cache for `floats` floats from p on.
RELNET_INLINE void prefetch(const float* p, int64_t floats) {
  for (int64_t i = 0; i < floats; i += 16) __builtin_prefetch(p + i);
}

// `size` zeroed vectors, 64-byte aligned (std::vector does not align to
// the vector type's 64 bytes).
class VecBuffer {
 public:
  explicit VecBuffer(int64_t size)
      : data_(static_cast<vec*>(std::aligned_alloc(64, std::max<int64_t>(1, size) * sizeof(vec)))) {
    if (data_ == nullptr) throw std::bad_alloc();
    for (int64_t i = 0; i < size; ++i) data_.get()[i] = vec{};
  }
  vec* data() { return data_.get(); }
  const vec* data() const { return data_.get(); }
  vec& operator[](int64_t i) { return data_.get()[i]; }

 private:
  struct Free {
    void operator()(vec* p) const { std::free(p); }
  };
  std::unique_ptr<vec, Free> data_;
};

}  // namespace vec16
}  // namespace relnet
