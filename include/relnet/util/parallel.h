// Helpers for relnet's own CPU kernels: vectorised variants chosen at load
// time, and work split into one contiguous chunk per intra-op thread.
//
// at::parallel_for is implemented in LibTorch's headers with OpenMP pragmas,
// so code that calls it must be compiled with OpenMP (CMakeLists.txt links
// OpenMP::OpenMP_CXX) or its loops run on the calling thread alone.
#pragma once

#include <ATen/Parallel.h>

#include <algorithm>
#include <cstdint>

// A kernel marked RELNET_SIMD is compiled for AVX-512, AVX2 and the x86-64
// baseline; the loader picks the best the CPU has (GCC's target_clones).
// Elsewhere it is compiled once for the target. The clones differ in
// instruction sets only (not in `arch=`), so that ordinary inline helpers
// still inline into them; helpers called in their inner loops are marked
// RELNET_INLINE all the same, since a call there stops vectorisation.
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__linux__)
#define RELNET_SIMD __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define RELNET_SIMD
#endif
#if defined(__GNUC__)
#define RELNET_INLINE inline __attribute__((always_inline))
#else
#define RELNET_INLINE inline
#endif

namespace relnet {

// Number of chunks parallel_chunks splits `n` items into: one per intra-op
// thread, but none smaller than `min_chunk` items (at least 1 chunk).
inline int64_t chunk_count(int64_t n, int64_t min_chunk) {
  const int64_t by_size = std::max<int64_t>(1, n / std::max<int64_t>(1, min_chunk));
  return std::max<int64_t>(1, std::min<int64_t>(at::get_num_threads(), by_size));
}

// Makes the calling thread run parallel loops (LibTorch's and relnet's)
// serially: for threads that run next to the intra-op pool, such as the
// augmentation workers, which would otherwise each start a team of OpenMP
// threads as large as the pool. Affects the calling thread only.
void run_parallel_loops_serially_in_this_thread();

// Runs fn(chunk, begin, end) for `chunks` contiguous ranges covering [0, n)
// on LibTorch's intra-op thread pool; each chunk may own scratch indexed by
// `chunk`, so reductions need no locks and do not depend on scheduling.
template <typename Fn>
void parallel_chunks(int64_t n, int64_t chunks, const Fn& fn) {
  at::parallel_for(0, chunks, 1, [&](int64_t first, int64_t last) {
    for (int64_t c = first; c < last; ++c) fn(c, n * c / chunks, n * (c + 1) / chunks);
  });
}

}  // namespace relnet
