// ViewAugmenter: composes the per-view transforms of transforms.h into each
// recipe: torchvision's RandomResizedCrop -> flip -> jitter -> grayscale ->
// Normalize (kRelational), padded RandomCrop -> flip -> Normalize (kCropFlip),
// flip -> Normalize (kFlip).
#include "relnet/augment/pipeline.h"

#include <ATen/Parallel.h>

#include <algorithm>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace relnet {

namespace {

void require(bool ok, const std::string& message) {
  if (!ok) throw std::invalid_argument(message);
}

std::string num(double x) {
  std::ostringstream os;
  os << x;
  return os.str();
}

// Checks that `images` is (N, 3, H, W) uint8 with H, W >= 1; `what` names the caller.
void check_images(const torch::Tensor& images, const std::string& what) {
  require(images.defined(), what + ": images tensor is undefined");
  std::ostringstream sizes;
  sizes << images.sizes();
  require(
      images.scalar_type() == torch::kUInt8,
      what + ": images must be uint8, found " + std::string(c10::toString(images.scalar_type())));
  require(images.dim() == 4, what + ": images must be 4-D (N, 3, H, W), found " +
                                 std::to_string(images.dim()) + "-D " + sizes.str());
  require(images.size(1) == 3, what + ": images must have 3 channels, found " +
                                   std::to_string(images.size(1)) + " (shape " + sizes.str() + ")");
  require(images.size(2) >= 1 && images.size(3) >= 1,
          what + ": images must have H, W >= 1, found shape " + sizes.str());
}

std::string size_str(int64_t height, int64_t width) {
  return std::to_string(height) + "x" + std::to_string(width);
}

}  // namespace

int64_t default_crop_padding(int64_t side) {
  require(side >= 1, "default_crop_padding: side must be >= 1, got " + std::to_string(side));
  return std::max<int64_t>((side + 4) / 8, 1);
}

ViewAugmenter::ViewAugmenter(const AugmentConfig& config, const Normalization& norm, int64_t side)
    : ViewAugmenter(config, norm, side, ViewRecipe{}) {}

ViewAugmenter::ViewAugmenter(const AugmentConfig& config, const Normalization& norm, int64_t side,
                             ViewRecipe recipe)
    : config_(config), norm_(norm), side_(side), recipe_(recipe) {
  const AugmentConfig& a = config_;
  require(side >= 1, "ViewAugmenter: side must be >= 1, got " + std::to_string(side));
  require(a.crop_scale_min > 0 && a.crop_scale_min <= a.crop_scale_max,
          "ViewAugmenter: need 0 < crop_scale_min <= crop_scale_max, got (" +
              num(a.crop_scale_min) + ", " + num(a.crop_scale_max) + ")");
  require(a.crop_ratio_min > 0 && a.crop_ratio_min <= a.crop_ratio_max,
          "ViewAugmenter: need 0 < crop_ratio_min <= crop_ratio_max, got (" +
              num(a.crop_ratio_min) + ", " + num(a.crop_ratio_max) + ")");
  for (const auto& [name, p] : {std::pair<const char*, double>{"flip_p", a.flip_p},
                                {"jitter_p", a.jitter_p},
                                {"grayscale_p", a.grayscale_p}}) {
    require(p >= 0 && p <= 1,
            std::string("ViewAugmenter: ") + name + " must be in [0, 1], got " + num(p));
  }
  for (const auto& [name, x] : {std::pair<const char*, double>{"brightness", a.brightness},
                                {"contrast", a.contrast},
                                {"saturation", a.saturation}}) {
    require(x >= 0, std::string("ViewAugmenter: ") + name + " must be >= 0, got " + num(x));
  }
  require(a.hue >= 0 && a.hue <= 0.5, "ViewAugmenter: hue must be in [0, 0.5], got " + num(a.hue));
  for (size_t c = 0; c < 3; ++c) {
    require(norm_.std[c] > 0, "ViewAugmenter: normalization std[" + std::to_string(c) +
                                  "] must be > 0, got " + num(norm_.std[c]));
  }
  require(recipe_.padding >= 0,
          "ViewAugmenter: padding must be >= 0, got " + std::to_string(recipe_.padding));
  table_ = make_normalize_table(norm_);
}

void ViewAugmenter::check_image_size(int64_t height, int64_t width) const {
  require(height >= 1 && width >= 1,
          "ViewAugmenter::augment: image must be at least 1x1, got " + size_str(height, width));
  const int64_t p = recipe_.padding;
  if (recipe_.kind == ViewKind::kCropFlip) {
    require(height + 2 * p >= side_ && width + 2 * p >= side_,
            "ViewAugmenter::augment: a " + size_str(height, width) + " image padded by " +
                std::to_string(p) + " is smaller than the " + size_str(side_, side_) + " crop");
  } else if (recipe_.kind == ViewKind::kFlip) {
    require(height == side_ && width == side_, "ViewAugmenter::augment: kFlip needs a " +
                                                   size_str(side_, side_) + " image, got " +
                                                   size_str(height, width));
  }
}

void ViewAugmenter::augment(const uint8_t* image, int64_t height, int64_t width, Rng& rng,
                            float* out) const {
  check_image_size(height, width);
  switch (recipe_.kind) {
    case ViewKind::kCropFlip:
      augment_crop_flip(image, height, width, rng, out);
      return;
    case ViewKind::kFlip:
      crop_normalize(image, height, width, 0, 0, side_, rng.bernoulli(config_.flip_p), table_, out);
      return;
    case ViewKind::kRelational:
      break;
  }
  augment_relational(image, height, width, rng, out);
}

void ViewAugmenter::augment_relational(const uint8_t* image, int64_t height, int64_t width,
                                       Rng& rng, float* out) const {
  thread_local ResizeWorkspace ws;
  const AugmentConfig& a = config_;
  const int64_t n = side_ * side_;

  const CropBox box = random_resized_crop_params(height, width, a.crop_scale_min, a.crop_scale_max,
                                                 a.crop_ratio_min, a.crop_ratio_max, rng);
  const bool flip = rng.bernoulli(a.flip_p);
  resize_crop(image, height, width, box, side_, side_, flip, ws, out);  // flip folded in
  if (rng.bernoulli(a.jitter_p)) {
    const JitterParams params = draw_jitter_params(a, rng);
    apply_color_jitter(out, n, params);
  }
  if (rng.bernoulli(a.grayscale_p)) to_grayscale(out, n);
  normalize_inplace(out, n, norm_);
}

void ViewAugmenter::augment_crop_flip(const uint8_t* image, int64_t height, int64_t width, Rng& rng,
                                      float* out) const {
  // Window corner in the padded image, drawn top then left, then made
  // relative to the image itself (negative: inside the padding).
  const int64_t p = recipe_.padding;
  const int64_t top = rng.randint(0, height + 2 * p - side_) - p;
  const int64_t left = rng.randint(0, width + 2 * p - side_) - p;
  const bool flip = rng.bernoulli(config_.flip_p);
  crop_normalize(image, height, width, top, left, side_, flip, table_, out);
}

void ViewAugmenter::augment_batch(const uint8_t* const* images, int64_t B, int64_t height,
                                  int64_t width, int64_t K, uint64_t seed, int64_t epoch,
                                  int64_t batch, float* out) const {
  check_image_size(height, width);
  const int64_t view_size = 3 * side_ * side_;
  at::parallel_for(0, B, 1, [&](int64_t begin, int64_t end) {
    for (int64_t b = begin; b < end; ++b) {
      Rng rng(derive_seed({seed, static_cast<uint64_t>(epoch), static_cast<uint64_t>(batch),
                           static_cast<uint64_t>(b)}));
      for (int64_t v = 0; v < K; ++v) {
        augment(images[b], height, width, rng, out + (v * B + b) * view_size);
      }
    }
  });
}

torch::Tensor ViewAugmenter::make_views(const torch::Tensor& images, int64_t K, uint64_t seed,
                                        int64_t epoch, int64_t batch) const {
  check_images(images, "ViewAugmenter::make_views");
  require(K >= 1, "ViewAugmenter::make_views: K must be >= 1, got " + std::to_string(K));
  const torch::Tensor src = images.contiguous();
  const int64_t B = src.size(0);
  const int64_t H = src.size(2);
  const int64_t W = src.size(3);
  torch::Tensor out = torch::empty({K * B, 3, side_, side_}, torch::kFloat32);
  std::vector<const uint8_t*> image_ptrs(static_cast<size_t>(B));
  for (int64_t b = 0; b < B; ++b) image_ptrs[b] = src.data_ptr<uint8_t>() + b * 3 * H * W;
  augment_batch(image_ptrs.data(), B, H, W, K, seed, epoch, batch, out.data_ptr<float>());
  return out;
}

torch::Tensor normalize_images(const torch::Tensor& images, const Normalization& norm) {
  check_images(images, "normalize_images");
  const auto mean = torch::tensor({norm.mean[0], norm.mean[1], norm.mean[2]}).view({1, 3, 1, 1});
  const auto std = torch::tensor({norm.std[0], norm.std[1], norm.std[2]}).view({1, 3, 1, 1});
  return images.to(torch::kFloat32).div_(255.0).sub_(mean).div_(std);
}

}  // namespace relnet
