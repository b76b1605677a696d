// The settings of relational reasoning's view augmentation, the `augment`
// section of a config (config.h reads and validates it).
#pragma once

#include <cstdint>

namespace relnet {

// The K-view augmentation pipeline (REFERENCE.md, torchvision semantics).
struct AugmentConfig {
  /// Augmented views per image.
  int64_t K = 4;
  /// RandomResizedCrop area range, as a fraction of the image.
  double crop_scale_min = 0.08;
  double crop_scale_max = 1.0;
  /// RandomResizedCrop aspect-ratio range.
  double crop_ratio_min = 3.0 / 4.0;
  double crop_ratio_max = 4.0 / 3.0;
  /// Probability of a horizontal flip.
  double flip_p = 0.5;
  /// Probability that colour jitter is applied to a view.
  double jitter_p = 0.8;
  /// Colour jitter strengths (factors drawn from [max(0, 1-x), 1+x]; hue from [-x, x]).
  double brightness = 0.8;
  double contrast = 0.8;
  double saturation = 0.8;
  double hue = 0.2;
  /// Probability of converting a view to grayscale.
  double grayscale_p = 0.2;
};

}  // namespace relnet
