// `relnet preview-augment`: what the K-view pipeline does to real images,
// as one picture, before anyone trains on it for days.
#pragma once

#include <cstdint>
#include <string>

#include "relnet/augment/pipeline.h"
#include "relnet/data/dataset.h"
#include "relnet/util/plot.h"

namespace relnet {

// A grid with one row per image: the original, then its K augmented views
// exactly as the training step receives them (denormalized for display).
// Rows are the first `images` images of `data`; the views are those of
// epoch 0, batch 0 under `seed`. Tiles are scaled to at least 80 pixels.
// Throws std::invalid_argument when images < 1, K < 1 or data holds fewer
// than `images` images.
#ifdef RELNET_WITH_IMAGE_IO
cv::Mat augmentation_preview(const ImageDataset& data, const ViewAugmenter& augmenter,
                             const Normalization& norm, int64_t images, int64_t K, uint64_t seed);
#endif

// augmentation_preview written as PNG to `path`; throws std::runtime_error
// when built without image I/O.
void write_augmentation_preview(const std::string& path, const ImageDataset& data,
                                const ViewAugmenter& augmenter, const Normalization& norm,
                                int64_t images, int64_t K, uint64_t seed);

}  // namespace relnet
