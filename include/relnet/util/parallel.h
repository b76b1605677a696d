// Work split into one contiguous chunk per intra-op thread, for relnet's own
// CPU kernels and the augmentation. (The kernels' vectorised variants are
// their private business: src/kernels/simd.h.)
//
// at::parallel_for is implemented in LibTorch's headers with OpenMP pragmas,
// so code that calls it must be compiled with OpenMP (CMakeLists.txt links
// OpenMP::OpenMP_CXX) or its loops run on the calling thread alone.
#pragma once

#include <ATen/Parallel.h>

#include <algorithm>
#include <cstdint>

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
