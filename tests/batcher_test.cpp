#include "relnet/augment/batcher.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <set>

#include "test_util.h"

namespace relnet {
namespace {

ImageDataset random_dataset(int64_t n, int64_t side) {
  torch::manual_seed(0);
  ImageDataset d;
  d.name = "synthetic";
  d.images = torch::randint(0, 256, {n, 3, side, side}, torch::kUInt8);
  d.labels = torch::arange(n) % 10;
  d.num_classes = 10;
  return d;
}

TEST(LoaderTest, EpochPermutationIsASeededPermutation) {
  const auto p = epoch_permutation(100, 7, 0);
  EXPECT_EQ(std::set<int64_t>(p.begin(), p.end()).size(), 100u);
  EXPECT_EQ(*std::min_element(p.begin(), p.end()), 0);
  EXPECT_EQ(*std::max_element(p.begin(), p.end()), 99);
  EXPECT_EQ(p, epoch_permutation(100, 7, 0));
  EXPECT_NE(p, epoch_permutation(100, 7, 1));
  EXPECT_NE(p, epoch_permutation(100, 8, 0));
}

TEST(LoaderTest, BatchesEqualMakeViewsInOrderForAnyWorkerCount) {
  const ImageDataset data = random_dataset(50, 12);
  const ViewAugmenter aug(AugmentConfig{}, Normalization{}, 12);
  const int64_t K = 3, B = 8;
  std::vector<torch::Tensor> reference;
  // 0: no worker threads, each batch built by next() on the intra-op threads.
  for (int64_t workers : {1, 3, 0}) {
    ViewBatcher batcher(data, aug, K, B, /*seed=*/5, workers, /*prefetch=*/2);
    EXPECT_EQ(batcher.batches_per_epoch(), 6);  // 50 / 8, last partial batch dropped
    batcher.start_epoch(2);
    const auto order = epoch_permutation(50, 5, 2);
    int64_t count = 0;
    while (auto batch = batcher.next()) {
      ASSERT_EQ(batch->index, count);
      ASSERT_EQ(batch->views.sizes(), (std::vector<int64_t>{K * B, 3, 12, 12}));
      const auto ids =
          torch::from_blob(const_cast<int64_t*>(order.data()) + count * B, {B}, torch::kInt64);
      EXPECT_TRUE(torch::equal(batch->images, ids));
      const auto expected = aug.make_views(data.images.index_select(0, ids), K, 5, 2, count);
      EXPECT_TRUE(torch::equal(batch->views, expected)) << "batch " << count;
      if (workers == 1) {
        reference.push_back(batch->views);
      } else {
        EXPECT_TRUE(torch::equal(batch->views, reference[count]));
      }
      ++count;
    }
    EXPECT_EQ(count, 6);
    EXPECT_FALSE(batcher.next().has_value());
  }
}

TEST(LoaderTest, StartEpochMidwayResumesAtThatBatch) {
  const ImageDataset data = random_dataset(40, 8);
  const ViewAugmenter aug(AugmentConfig{}, Normalization{}, 8);
  ViewBatcher full(data, aug, 2, 4, 1, 2, 3);
  full.start_epoch(0);
  std::vector<torch::Tensor> all;
  while (auto b = full.next()) all.push_back(b->views);
  for (int64_t workers : {2, 0}) {
    ViewBatcher resumed(data, aug, 2, 4, 1, workers, 3);
    resumed.start_epoch(0, 7);
    int64_t i = 7;
    while (auto b = resumed.next()) EXPECT_TRUE(torch::equal(b->views, all[i++]));
    EXPECT_EQ(i, 10);
  }
}

TEST(LoaderTest, RejectsADatasetSmallerThanOneBatch) {
  const ImageDataset data = random_dataset(5, 8);
  const ViewAugmenter aug(AugmentConfig{}, Normalization{}, 8);
  EXPECT_THROW(ViewBatcher(data, aug, 2, 8, 1, 1, 1), std::invalid_argument);
}

TEST(LoaderTest, AutomaticWorkersAreNoneOnACpuAndCoresMinusOneBesideAGpu) {
  EXPECT_EQ(augmentation_workers(0, /*cuda=*/false, 2), 0);
  EXPECT_EQ(augmentation_workers(0, /*cuda=*/true, 4), 3);
  EXPECT_EQ(augmentation_workers(0, /*cuda=*/true, 1), 1);
  EXPECT_EQ(augmentation_workers(2, /*cuda=*/false, 2), 2);
  EXPECT_NE(relnet::testing::error_of([] {
              augmentation_workers(-1, false, 2);
            }).find("augmentation workers must be >= 0"),
            std::string::npos);
}

TEST(LoaderTest, RejectsANegativeWorkerCount) {
  const ImageDataset data = random_dataset(20, 8);
  const ViewAugmenter aug(AugmentConfig{}, Normalization{}, 8);
  EXPECT_NE(relnet::testing::error_of([&] {
              ViewBatcher(data, aug, 2, 4, 1, -1, 1);
            }).find("workers must be >= 0"),
            std::string::npos);
}

// Data parallelism: shard r's local batch s is the single-process batch
// s * shards + r (same images, same views); the shards of an epoch are
// disjoint and equally long.
TEST(LoaderTest, ShardsSplitAnEpochIntoDisjointEqualParts) {
  const ImageDataset data = random_dataset(50, 12);
  const ViewAugmenter aug(AugmentConfig{}, Normalization{}, 12);
  const int64_t K = 2, B = 4, shards = 3;
  ViewBatcher single(data, aug, K, B, 9, 1, 2);
  single.start_epoch(1);
  std::vector<ViewBatch> global;
  while (auto b = single.next()) global.push_back(*b);
  std::set<int64_t> seen;
  for (int64_t shard = 0; shard < shards; ++shard) {
    ViewBatcher part(data, aug, K, B, 9, 2, 2, shard, shards);
    EXPECT_EQ(part.batches_per_epoch(), 4);  // 50 / (4 * 3)
    part.start_epoch(1);
    int64_t s = 0;
    while (auto b = part.next()) {
      EXPECT_EQ(b->index, s);
      const ViewBatch& g = global[static_cast<size_t>(s * shards + shard)];
      EXPECT_TRUE(torch::equal(b->images, g.images)) << shard << " " << s;
      EXPECT_TRUE(torch::equal(b->views, g.views)) << shard << " " << s;
      for (int64_t i = 0; i < B; ++i) EXPECT_TRUE(seen.insert(b->images[i].item<int64_t>()).second);
      ++s;
    }
    EXPECT_EQ(s, 4);
  }
  EXPECT_EQ(seen.size(), 48u);
  EXPECT_THROW(ViewBatcher(data, aug, K, B, 9, 1, 2, 3, 3), std::invalid_argument);
  EXPECT_NE(relnet::testing::error_of([&] {
              ViewBatcher(data, aug, K, 20, 9, 1, 2, 0, 3);
            }).find("for each of 3 ranks"),
            std::string::npos);
}

}  // namespace
}  // namespace relnet
