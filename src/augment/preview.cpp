// The augmentation preview grid.
#include "relnet/augment/preview.h"

#include <stdexcept>
#include <string>
#include <vector>

#include "relnet/util/plot.h"

namespace relnet {

void write_augmentation_preview(const std::string& path, const ImageDataset& data,
                                const ViewAugmenter& augmenter, const Normalization& norm,
                                int64_t images, int64_t K, uint64_t seed) {
  require_image_io("writing '" + path + "'");
#ifdef RELNET_WITH_IMAGE_IO
  write_png(path, augmentation_preview(data, augmenter, norm, images, K, seed));
#else
  (void)data, (void)augmenter, (void)norm, (void)images, (void)K, (void)seed;
#endif
}

#ifdef RELNET_WITH_IMAGE_IO
cv::Mat augmentation_preview(const ImageDataset& data, const ViewAugmenter& augmenter,
                             const Normalization& norm, int64_t images, int64_t K, uint64_t seed) {
  if (images < 1 || K < 1) {
    throw std::invalid_argument("preview needs at least 1 image and 1 view, got " +
                                std::to_string(images) + " images and " + std::to_string(K) +
                                " views");
  }
  if (data.size() < images) {
    throw std::invalid_argument("preview of " + std::to_string(images) + " images, but " +
                                data.name + " has " + std::to_string(data.size()));
  }
  const torch::Tensor originals = data.images.slice(0, 0, images).contiguous();
  const torch::Tensor views = augmenter.make_views(originals, K, seed, 0, 0);  // (K*B, 3, s, s)
  // Undo Normalize for display: x * std + mean, in [0, 255].
  const auto mean = torch::tensor({norm.mean[0], norm.mean[1], norm.mean[2]}).view({1, 3, 1, 1});
  const auto stdv = torch::tensor({norm.std[0], norm.std[1], norm.std[2]}).view({1, 3, 1, 1});
  const torch::Tensor shown =
      (views * stdv + mean).mul(255.0).round().clamp(0, 255).to(torch::kUInt8).contiguous();

  const int cell = tile_cell(static_cast<int>(augmenter.side()));
  std::vector<cv::Mat> tiles;
  std::vector<std::string> row_labels, column_labels{"original"};
  for (int64_t v = 0; v < K; ++v) column_labels.push_back("view " + std::to_string(v + 1));
  const int oh = static_cast<int>(originals.size(2)), ow = static_cast<int>(originals.size(3));
  const int vs = static_cast<int>(augmenter.side());
  for (int64_t b = 0; b < images; ++b) {
    tiles.push_back(image_tile(originals[b].data_ptr<uint8_t>(), 3, oh, ow, cell));
    for (int64_t v = 0; v < K; ++v) {
      tiles.push_back(image_tile(shown[v * images + b].data_ptr<uint8_t>(), 3, vs, vs, cell));
    }
    const int64_t label = data.labels.defined() ? data.labels[b].item<int64_t>() : -1;
    row_labels.push_back(label >= 0 && label < static_cast<int64_t>(data.class_names.size())
                             ? data.class_names[static_cast<size_t>(label)]
                             : "#" + std::to_string(b));
  }
  return tile_grid(tiles, static_cast<int>(K + 1), 4, row_labels, column_labels);
}

#endif  // RELNET_WITH_IMAGE_IO

}  // namespace relnet
