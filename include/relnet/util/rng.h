// Small, explicit, seedable random number generator used everywhere relnet
// needs randomness outside LibTorch (sampling, augmentation). Its output is
// fully specified here, so a seed gives the same stream on every platform.
#pragma once

#include <cmath>
#include <cstdint>
#include <initializer_list>

namespace relnet {

// splitmix64 step: a good 64-bit mixer, used to derive seeds from keys.
inline uint64_t splitmix64(uint64_t& state) {
  uint64_t z = (state += 0x9E3779B97F4A7C15ULL);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

// Derives one 64-bit seed from an ordered list of keys, e.g.
// derive_seed({seed, epoch, batch, image}). Different key lists give
// statistically independent streams.
inline uint64_t derive_seed(std::initializer_list<uint64_t> keys) {
  uint64_t state = 0x6A09E667F3BCC909ULL;
  uint64_t out = splitmix64(state);
  for (uint64_t k : keys) {
    state ^= k + 0x9E3779B97F4A7C15ULL + (out << 6) + (out >> 2);
    out = splitmix64(state);
  }
  return out;
}

// xoshiro256** generator. Not thread-safe: give each thread its own.
class Rng {
 public:
  explicit Rng(uint64_t seed) {
    uint64_t sm = seed;
    for (auto& word : s_) word = splitmix64(sm);
  }

  // Uniform 64-bit integer.
  uint64_t next_u64() {
    const uint64_t result = rotl(s_[1] * 5, 7) * 9;
    const uint64_t t = s_[1] << 17;
    s_[2] ^= s_[0];
    s_[3] ^= s_[1];
    s_[1] ^= s_[2];
    s_[0] ^= s_[3];
    s_[2] ^= t;
    s_[3] = rotl(s_[3], 45);
    return result;
  }

  // Uniform double in [0, 1) with 53 random bits.
  double uniform() { return static_cast<double>(next_u64() >> 11) * 0x1.0p-53; }

  // Uniform double in [lo, hi).
  double uniform(double lo, double hi) { return lo + (hi - lo) * uniform(); }

  // Uniform integer in [0, n); n must be > 0. Unbiased: only draws in
  // [2^64 mod n, 2^64), a whole multiple of n values, are used.
  uint64_t below(uint64_t n) {
    const uint64_t threshold = (0 - n) % n;  // 2^64 mod n
    while (true) {
      const uint64_t r = next_u64();
      if (r >= threshold) return r % n;
    }
  }

  // Uniform integer in [lo, hi] (inclusive); requires lo <= hi.
  int64_t randint(int64_t lo, int64_t hi) {
    return lo + static_cast<int64_t>(below(static_cast<uint64_t>(hi - lo) + 1));
  }

  // True with probability p.
  bool bernoulli(double p) { return uniform() < p; }

 private:
  static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
  uint64_t s_[4];
};

}  // namespace relnet
