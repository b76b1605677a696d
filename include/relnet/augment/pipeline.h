// The K-view augmentation of the training phase (REFERENCE.md, torchvision
// semantics), one recipe per method: relational reasoning's RandomResizedCrop,
// horizontal flip, colour jitter (p=0.8, random order), random grayscale; the
// padded RandomCrop + flip of DeepCluster, RotationNet and supervised
// training; Deep InfoMax's flip alone. Every recipe ends in to-float and
// Normalize.
#pragma once

#include <torch/torch.h>

#include <cstdint>

#include "relnet/augment/augment_config.h"
#include "relnet/augment/transforms.h"
#include "relnet/data/dataset.h"
#include "relnet/util/rng.h"

namespace relnet {

// How one view is drawn from an image (all end in to-float and Normalize):
//  kRelational: RandomResizedCrop -> flip -> colour jitter -> grayscale (the
//               AugmentConfig's settings);
//  kCropFlip:   torchvision's RandomCrop(side, padding) on the zero-padded
//               image, then a horizontal flip with probability
//               AugmentConfig::flip_p (DeepCluster, RotationNet, supervised);
//  kFlip:       the side x side image as it is, flipped with probability
//               flip_p (Deep InfoMax).
enum class ViewKind { kRelational, kCropFlip, kFlip };

struct ViewRecipe {
  ViewKind kind = ViewKind::kRelational;
  int64_t padding = 0;  // kCropFlip: zero padding on every side, in pixels, >= 0
};

// The padding DeepCluster/RotationNet/supervised use for a side: side / 8
// rounded half up, at least 1 (4 at 28 and 32 px, 8 at 64, 12 at 96).
// Throws std::invalid_argument when side < 1.
int64_t default_crop_padding(int64_t side);

class ViewAugmenter {
 public:
  // `side`: output height and width of every view; the recipe is
  // kRelational. Throws std::invalid_argument naming the setting when
  // side < 1, a probability is outside [0, 1], a crop range is empty or not
  // positive, a jitter strength is < 0, hue > 0.5, or a normalization std is
  // <= 0.
  ViewAugmenter(const AugmentConfig& config, const Normalization& norm, int64_t side);

  // As above with the given recipe (kCropFlip and kFlip read only flip_p of
  // `config`, yet all of it is validated); also throws when
  // recipe.padding < 0.
  ViewAugmenter(const AugmentConfig& config, const Normalization& norm, int64_t side,
                ViewRecipe recipe);

  int64_t side() const { return side_; }
  const AugmentConfig& config() const { return config_; }
  const ViewRecipe& recipe() const { return recipe_; }

  // Draws one augmented view of `image` (C=3 channels, H x W, uint8, CHW,
  // contiguous) and writes it normalized, as float CHW (3 x side x side),
  // to `out`. All randomness comes from `rng`, drawn in this order:
  //  kRelational: crop box (random_resized_crop_params), flip, jitter coin
  //               [then draw_jitter_params], grayscale coin;
  //  kCropFlip:   top = randint(0, H + 2p - side), left = randint(0, W + 2p
  //               - side) (always drawn, even from a range of one), flip;
  //  kFlip:       flip.
  // Throws std::invalid_argument naming the sizes when height or width < 1,
  // for kCropFlip when H + 2p < side or W + 2p < side, for kFlip unless
  // H == W == side.
  void augment(const uint8_t* image, int64_t height, int64_t width, Rng& rng, float* out) const;

  // K views of each of the B images at images[0..B) ((3, height, width)
  // uint8, contiguous) into `out`, view-major: view v of image b at out +
  // (v * B + b) * 3 * side * side. Image b's views draw from
  // Rng(derive_seed({seed, epoch, batch, b})), so the result depends only on
  // these keys, never on how the images are split over the intra-op threads.
  // Throws like augment, before any view is drawn.
  void augment_batch(const uint8_t* const* images, int64_t B, int64_t height, int64_t width,
                     int64_t K, uint64_t seed, int64_t epoch, int64_t batch, float* out) const;

  // K views of every image of `images` ((B, 3, H, W) uint8), view-major:
  // row v*B + b is view v of image b. Image b's views draw from
  // Rng(derive_seed({seed, epoch, batch, b})), so the result depends only on
  // these keys, never on threads. Returns (K*B, 3, side, side) float32.
  // Throws std::invalid_argument stating expected and found unless images is
  // (B, 3, H, W) uint8 with H, W >= 1 and K >= 1, or when the recipe does not
  // fit H x W (see augment).
  torch::Tensor make_views(const torch::Tensor& images, int64_t K, uint64_t seed, int64_t epoch,
                           int64_t batch) const;

 private:
  // Throws std::invalid_argument unless the recipe can draw views from a
  // height x width image (see augment).
  void check_image_size(int64_t height, int64_t width) const;
  // The recipes' bodies; the image size is already checked.
  void augment_relational(const uint8_t* image, int64_t height, int64_t width, Rng& rng,
                          float* out) const;
  void augment_crop_flip(const uint8_t* image, int64_t height, int64_t width, Rng& rng,
                         float* out) const;

  AugmentConfig config_;
  Normalization norm_;
  int64_t side_;
  ViewRecipe recipe_;
  NormalizeTable table_;  // norm_ per uint8 level (kCropFlip, kFlip)
};

// Evaluation transform: to float in [0, 1] and Normalize, no augmentation.
// (N, 3, H, W) uint8 -> (N, 3, H, W) float32: (x / 255 - mean[c]) / std[c].
// Throws std::invalid_argument like make_views on other inputs.
torch::Tensor normalize_images(const torch::Tensor& images, const Normalization& norm);

}  // namespace relnet
