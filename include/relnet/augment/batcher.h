// Self-supervised batches: a seeded per-epoch shuffle, then B images x K
// augmented views, built on worker threads ahead of the model step or on
// demand, handed out in order, view-major (K*B, 3, side, side).
#pragma once

#include <torch/torch.h>

#include <condition_variable>
#include <cstdint>
#include <exception>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "relnet/augment/pipeline.h"
#include "relnet/data/dataset.h"

namespace relnet {

// The order images are visited in during `epoch`: a Fisher-Yates shuffle of
// 0..n-1 drawn from Rng(derive_seed({seed, epoch})).
std::vector<int64_t> epoch_permutation(int64_t n, uint64_t seed, int64_t epoch);

struct ViewBatch {
  int64_t epoch = 0;
  int64_t index = 0;     // batch index within the epoch (this shard's)
  torch::Tensor views;   // (K*B, 3, side, side) float32, view-major
  torch::Tensor images;  // (B) int64 dataset indices of the batch's images
};

// Augmentation threads for a run that asked for `requested` (data.workers,
// `--workers`): `requested` when > 0; for 0 (automatic), none on a CPU (the
// views are built on the intra-op threads between steps: measured faster on
// 2 cores than a worker thread that the intra-op threads must share the cores
// with, docs/PERFORMANCE.md) and cores - 1 (at least 1) beside a GPU, where
// the CPU has nothing else to do. Throws std::invalid_argument for a
// negative `requested`.
int64_t augmentation_workers(int64_t requested, bool cuda, int cores);

class ViewBatcher {
 public:
  // Batches of `batch_size` images (the last incomplete one is dropped, so
  // every step has the same B); `workers` threads keep up to `prefetch`
  // batches ready. With 0 workers next() builds each batch itself, on
  // LibTorch's intra-op threads, when it is asked for: on a CPU that leaves
  // the cores to one thing at a time instead of making the augmentation
  // threads and the intra-op threads take turns. The views of batch b of
  // epoch e equal augmenter.make_views(images, K, seed, e, b) for any worker
  // count.
  //
  // A memory-mapped pack (dataset.mapping set): building batch b asks the
  // kernel to read the rows of this shard's batch b + 1, which the shuffle
  // scatters over the file, so they come from disk while batch b trains.
  //
  // `pin_memory` (CUDA runs): views are built in page-locked host memory, so
  // the copy to the GPU can be asynchronous.
  //
  // Data parallelism: with `shards` > 1 this batcher hands out shard
  // `shard`'s part of every epoch: its local batch s is the global batch
  // s * shards + shard of the same permutation (images and views exactly as
  // a single process would build that global batch), and an epoch has
  // dataset.size() / (batch_size * shards) of them, so the shards of one
  // epoch are disjoint and every rank takes the same number of steps.
  ViewBatcher(const ImageDataset& dataset, const ViewAugmenter& augmenter, int64_t K,
              int64_t batch_size, uint64_t seed, int64_t workers, int64_t prefetch,
              int64_t shard = 0, int64_t shards = 1, bool pin_memory = false);
  ~ViewBatcher();
  ViewBatcher(const ViewBatcher&) = delete;
  ViewBatcher& operator=(const ViewBatcher&) = delete;

  int64_t batches_per_epoch() const { return batches_per_epoch_; }

  // Starts handing out `epoch` from batch `first_batch` (for resume).
  void start_epoch(int64_t epoch, int64_t first_batch = 0);

  // The next batch of the current epoch, nullopt after its last. Rethrows a
  // worker's exception.
  std::optional<ViewBatch> next();

 private:
  void worker_loop();
  ViewBatch build(int64_t epoch, int64_t index, const std::vector<int64_t>& order) const;

  const ImageDataset& dataset_;
  const ViewAugmenter& augmenter_;
  const int64_t K_, batch_size_, prefetch_, shard_, shards_;
  const bool pin_memory_;
  const uint64_t seed_;
  int64_t batches_per_epoch_;

  std::mutex mutex_;
  std::condition_variable cv_;
  bool shutdown_ = false;
  int64_t generation_ = 0;  // bumped by start_epoch; stale results are dropped
  int64_t epoch_ = -1;
  std::shared_ptr<const std::vector<int64_t>> order_;
  int64_t next_claim_ = 0;  // next batch index a worker may build
  int64_t next_out_ = 0;    // next batch index next() returns
  std::map<int64_t, ViewBatch> ready_;
  std::exception_ptr error_;
  std::vector<std::thread> threads_;
};

}  // namespace relnet
