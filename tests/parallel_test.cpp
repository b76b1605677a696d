#include "relnet/util/parallel.h"

#include <gtest/gtest.h>

#include <chrono>
#include <mutex>
#include <set>
#include <thread>

namespace relnet {
namespace {

// Restores LibTorch's intra-op thread count after a test.
struct ThreadCount {
  int saved = at::get_num_threads();
  ~ThreadCount() { at::set_num_threads(saved); }
};

std::set<std::thread::id> threads_of_chunks(int64_t chunks) {
  std::mutex mutex;
  std::set<std::thread::id> ids;
  parallel_chunks(1000, chunks, [&](int64_t, int64_t, int64_t) {
    // Long enough that one thread cannot take every chunk before the others start.
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    std::lock_guard<std::mutex> lock(mutex);
    ids.insert(std::this_thread::get_id());
  });
  return ids;
}

TEST(ParallelTest, ChunksCoverTheRangeOnceInOrder) {
  ThreadCount restore;
  at::set_num_threads(2);
  std::vector<int> seen(103, 0);
  std::vector<std::pair<int64_t, int64_t>> ranges(3);
  parallel_chunks(103, 3, [&](int64_t c, int64_t begin, int64_t end) {
    ranges[c] = {begin, end};
    for (int64_t i = begin; i < end; ++i) ++seen[i];
  });
  for (int v : seen) EXPECT_EQ(v, 1);
  EXPECT_EQ(ranges[0].first, 0);
  EXPECT_EQ(ranges[0].second, ranges[1].first);
  EXPECT_EQ(ranges[1].second, ranges[2].first);
  EXPECT_EQ(ranges[2].second, 103);
}

// relnet's kernels must really run on the intra-op threads: at::parallel_for
// compiled without OpenMP silently runs every chunk on the calling thread.
TEST(ParallelTest, ChunksRunOnTheIntraOpThreads) {
  ThreadCount restore;
  at::set_num_threads(2);
  ASSERT_EQ(chunk_count(1000, 1), 2);
  EXPECT_EQ(threads_of_chunks(2).size(), 2u);
}

TEST(ParallelTest, AWorkerThreadCanRunItsLoopsSerially) {
  ThreadCount restore;
  at::set_num_threads(2);
  size_t worker_threads = 0;
  int worker_count = 0;
  std::thread worker([&] {
    run_parallel_loops_serially_in_this_thread();
    worker_count = at::get_num_threads();
    worker_threads = threads_of_chunks(2).size();
  });
  worker.join();
  EXPECT_EQ(worker_count, 1);
  EXPECT_EQ(worker_threads, 1u);
  // The calling thread's own setting is untouched.
  EXPECT_EQ(at::get_num_threads(), 2);
  EXPECT_EQ(threads_of_chunks(2).size(), 2u);
}

}  // namespace
}  // namespace relnet
