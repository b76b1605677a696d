// `relnet preview-augment`: what the K-view pipeline does to real images,
// as one picture, before anyone trains on it for days.
#pragma once

#include <opencv2/core.hpp>

#include <cstdint>

#include "relnet/augment/pipeline.h"
#include "relnet/data/dataset.h"

namespace relnet {

// A grid with one row per image: the original, then its K augmented views
// exactly as the training step receives them (denormalized for display).
// Rows are the first `images` images of `data`; the views are those of
// epoch 0, batch 0 under `seed`. Tiles are scaled to at least 80 pixels.
// Throws std::invalid_argument when images < 1, K < 1 or data holds fewer
// than `images` images.
cv::Mat augmentation_preview(const ImageDataset& data, const ViewAugmenter& augmenter,
                             const Normalization& norm, int64_t images, int64_t K, uint64_t seed);

}  // namespace relnet
