// Ordered, prefetching view batcher.
#include "relnet/augment/batcher.h"

#include <stdexcept>

#include "relnet/util/parallel.h"
#include "relnet/util/rng.h"

namespace relnet {

std::vector<int64_t> epoch_permutation(int64_t n, uint64_t seed, int64_t epoch) {
  std::vector<int64_t> order(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) order[i] = i;
  Rng rng(derive_seed({seed, static_cast<uint64_t>(epoch)}));
  for (int64_t i = n - 1; i > 0; --i) {
    const auto j = static_cast<int64_t>(rng.below(static_cast<uint64_t>(i) + 1));
    std::swap(order[i], order[j]);
  }
  return order;
}

int64_t augmentation_workers(int64_t requested, bool cuda, int cores) {
  if (requested < 0) {
    throw std::invalid_argument("augmentation workers must be >= 0 (0 = automatic), got " +
                                std::to_string(requested));
  }
  if (requested > 0) return requested;
  return cuda ? std::max(1, cores - 1) : 0;
}

ViewBatcher::ViewBatcher(const ImageDataset& dataset, const ViewAugmenter& augmenter, int64_t K,
                         int64_t batch_size, uint64_t seed, int64_t workers, int64_t prefetch,
                         int64_t shard, int64_t shards, bool pin_memory)
    : dataset_(dataset),
      augmenter_(augmenter),
      K_(K),
      batch_size_(batch_size),
      prefetch_(std::max<int64_t>(1, prefetch)),
      shard_(shard),
      shards_(shards),
      pin_memory_(pin_memory),
      seed_(seed),
      batches_per_epoch_(shards >= 1 ? dataset.size() / (batch_size * shards) : 0) {
  if (batch_size < 2) {
    throw std::invalid_argument("batch size must be >= 2, got " + std::to_string(batch_size));
  }
  if (shards < 1 || shard < 0 || shard >= shards) {
    throw std::invalid_argument("shard " + std::to_string(shard) + " of " + std::to_string(shards) +
                                " does not exist");
  }
  if (batches_per_epoch_ == 0) {
    throw std::invalid_argument(
        "dataset '" + dataset.name + "' has " + std::to_string(dataset.size()) +
        " images, fewer than one batch of " + std::to_string(batch_size) +
        (shards > 1 ? " for each of " + std::to_string(shards) + " ranks" : std::string()));
  }
  if (workers < 0) {
    throw std::invalid_argument("ViewBatcher: workers must be >= 0, got " +
                                std::to_string(workers));
  }
  for (int64_t i = 0; i < workers; ++i) threads_.emplace_back([this] { worker_loop(); });
}

ViewBatcher::~ViewBatcher() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    shutdown_ = true;
  }
  cv_.notify_all();
  for (auto& t : threads_) t.join();
}

void ViewBatcher::start_epoch(int64_t epoch, int64_t first_batch) {
  auto order = std::make_shared<const std::vector<int64_t>>(
      epoch_permutation(dataset_.size(), seed_, epoch));
  {
    std::lock_guard<std::mutex> lock(mutex_);
    ++generation_;
    epoch_ = epoch;
    order_ = std::move(order);
    next_claim_ = next_out_ = std::min(first_batch, batches_per_epoch_);
    ready_.clear();
  }
  cv_.notify_all();
}

std::optional<ViewBatch> ViewBatcher::next() {
  std::unique_lock<std::mutex> lock(mutex_);
  if (epoch_ < 0) throw std::logic_error("ViewBatcher::next() before start_epoch()");
  if (next_out_ >= batches_per_epoch_) return std::nullopt;
  if (threads_.empty()) {  // no workers: build it here, on the intra-op threads
    const int64_t index = next_out_++;
    const int64_t epoch = epoch_;
    const auto order = order_;
    lock.unlock();
    return build(epoch, index, *order);
  }
  cv_.wait(lock, [&] { return error_ || ready_.count(next_out_) > 0; });
  if (error_) std::rethrow_exception(error_);
  auto node = ready_.extract(next_out_);
  ++next_out_;
  lock.unlock();
  cv_.notify_all();  // a prefetch slot is free
  return std::move(node.mapped());
}

void ViewBatcher::worker_loop() {
  // Each worker is one thread of augmentation next to the intra-op pool.
  run_parallel_loops_serially_in_this_thread();
  std::unique_lock<std::mutex> lock(mutex_);
  while (true) {
    cv_.wait(lock, [&] {
      return shutdown_ || (order_ && !error_ && next_claim_ < batches_per_epoch_ &&
                           next_claim_ < next_out_ + prefetch_);
    });
    if (shutdown_) return;
    const int64_t index = next_claim_++;
    const int64_t generation = generation_;
    const int64_t epoch = epoch_;
    const auto order = order_;
    lock.unlock();
    try {
      ViewBatch batch = build(epoch, index, *order);
      lock.lock();
      if (generation == generation_) ready_.emplace(index, std::move(batch));
    } catch (...) {
      lock.lock();
      if (!error_) error_ = std::current_exception();
    }
    cv_.notify_all();
  }
}

ViewBatch ViewBatcher::build(int64_t epoch, int64_t index,
                             const std::vector<int64_t>& order) const {
  const int64_t B = batch_size_;
  const int64_t side = augmenter_.side();
  const int64_t H = dataset_.images.size(2), W = dataset_.images.size(3);
  auto views =
      torch::empty({K_ * B, 3, side, side},
                   torch::TensorOptions().dtype(torch::kFloat32).pinned_memory(pin_memory_));
  auto images = torch::empty({B}, torch::kInt64);
  const uint8_t* pixels = dataset_.images.data_ptr<uint8_t>();
  int64_t* image_ids = images.data_ptr<int64_t>();
  const int64_t global = index * shards_ + shard_;  // the batch of a single-process run
  std::vector<const uint8_t*> image_ptrs(static_cast<size_t>(B));
  for (int64_t b = 0; b < B; ++b) {
    image_ids[b] = order[global * B + b];
    image_ptrs[b] = pixels + image_ids[b] * 3 * H * W;
  }
  // A memory-mapped pack: the kernel reads the next batch's rows (scattered
  // over the file by the shuffle) while this one is augmented and trained on.
  const int64_t next_global = global + shards_;
  if (dataset_.mapping && (next_global + 1) * B <= static_cast<int64_t>(order.size())) {
    prefetch_images(dataset_, order.data() + next_global * B, B);
  }
  // Every image has its own generator, so the split over threads (serial on
  // a worker thread, the intra-op threads without workers) changes nothing.
  augmenter_.augment_batch(image_ptrs.data(), B, H, W, K_, seed_, epoch, global,
                           views.data_ptr<float>());
  return {epoch, index, views, images};
}

}  // namespace relnet
