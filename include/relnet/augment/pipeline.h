// The K-view augmentation of the self-supervised phase (REFERENCE.md,
// torchvision semantics): RandomResizedCrop, horizontal flip, colour jitter
// (p=0.8, random order), random grayscale, to-float and Normalize.
#pragma once

#include <torch/torch.h>

#include <cstdint>

#include "relnet/config.h"
#include "relnet/data/dataset.h"
#include "relnet/util/rng.h"

namespace relnet {

// The normalization a config asks for: data.mean and data.std where given,
// else the dataset's default (REFERENCE.md).
Normalization effective_normalization(const DataConfig& data);

class ViewAugmenter {
 public:
  // `side`: output height and width of every view. Throws
  // std::invalid_argument naming the setting when side < 1, a probability is
  // outside [0, 1], a crop range is empty or not positive, a jitter strength
  // is < 0, hue > 0.5, or a normalization std is <= 0.
  ViewAugmenter(const AugmentConfig& config, const Normalization& norm, int64_t side);

  int64_t side() const { return side_; }
  const AugmentConfig& config() const { return config_; }

  // Draws one augmented view of `image` (C=3 channels, H x W, uint8, CHW,
  // contiguous) and writes it normalized, as float CHW (3 x side x side),
  // to `out`. All randomness comes from `rng`, drawn in this order: crop
  // box (random_resized_crop_params), flip, jitter coin [then
  // draw_jitter_params], grayscale coin. Throws std::invalid_argument when
  // height or width < 1.
  void augment(const uint8_t* image, int64_t height, int64_t width, Rng& rng, float* out) const;

  // K views of each of the B images at images[0..B) ((3, height, width)
  // uint8, contiguous) into `out`, view-major: view v of image b at out +
  // (v * B + b) * 3 * side * side. Image b's views draw from
  // Rng(derive_seed({seed, epoch, batch, b})), so the result depends only on
  // these keys, never on how the images are split over the intra-op threads.
  void augment_batch(const uint8_t* const* images, int64_t B, int64_t height, int64_t width,
                     int64_t K, uint64_t seed, int64_t epoch, int64_t batch, float* out) const;

  // K views of every image of `images` ((B, 3, H, W) uint8), view-major:
  // row v*B + b is view v of image b. Image b's views draw from
  // Rng(derive_seed({seed, epoch, batch, b})), so the result depends only on
  // these keys, never on threads. Returns (K*B, 3, side, side) float32.
  // Throws std::invalid_argument stating expected and found unless images is
  // (B, 3, H, W) uint8 with H, W >= 1 and K >= 1.
  torch::Tensor make_views(const torch::Tensor& images, int64_t K, uint64_t seed, int64_t epoch,
                           int64_t batch) const;

 private:
  AugmentConfig config_;
  Normalization norm_;
  int64_t side_;
};

// Evaluation transform: to float in [0, 1] and Normalize, no augmentation.
// (N, 3, H, W) uint8 -> (N, 3, H, W) float32: (x / 255 - mean[c]) / std[c].
// Throws std::invalid_argument like make_views on other inputs.
torch::Tensor normalize_images(const torch::Tensor& images, const Normalization& norm);

}  // namespace relnet
