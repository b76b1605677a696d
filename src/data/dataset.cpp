// Dataset registry: names, splits, default normalizations, the loader
// dispatch and the optional resize to a common side.
#include "relnet/data/dataset.h"

#include <ATen/Parallel.h>
#include <spdlog/spdlog.h>

#ifdef RELNET_WITH_IMAGE_IO
#include <opencv2/imgproc.hpp>
#endif

#include <algorithm>
#include <chrono>
#include <stdexcept>

#include "relnet/data/cifar.h"
#include "relnet/data/idx.h"
#include "relnet/data/image_folder.h"
#include "relnet/data/packed.h"
#include "relnet/data/stl10.h"

namespace relnet {

std::string to_string(Split split) {
  switch (split) {
    case Split::kTrain:
      return "train";
    case Split::kTest:
      return "test";
    case Split::kUnlabeled:
      return "unlabeled";
  }
  return "train";
}

Split parse_split(const std::string& text) {
  if (text == "train") return Split::kTrain;
  if (text == "test") return Split::kTest;
  if (text == "unlabeled") return Split::kUnlabeled;
  throw std::invalid_argument("unknown split '" + text + "' (known: train, test, unlabeled)");
}

Split default_train_split(const std::string& dataset, const std::string& root) {
  if (dataset == "packed" || is_pack(root)) return read_pack_info(root).default_split;
  return dataset == "stl10" ? Split::kUnlabeled : Split::kTrain;
}

const std::vector<DatasetSpec>& dataset_specs() {
  static const std::vector<DatasetSpec> specs = {
      {"cifar10",
       "CIFAR-10, binary version (cifar-10-batches-bin/)",
       32,
       10,
       {Split::kTrain, Split::kTest}},
      {"cifar100",
       "CIFAR-100, binary version, 100 fine classes (cifar-100-binary/)",
       32,
       100,
       {Split::kTrain, Split::kTest}},
      {"supercifar100",
       "CIFAR-100 with its 20 coarse super-classes (cifar-100-binary/)",
       32,
       20,
       {Split::kTrain, Split::kTest}},
      {"stl10",
       "STL-10, binary version (stl10_binary/), 100,000 unlabeled images",
       96,
       10,
       {Split::kTrain, Split::kTest, Split::kUnlabeled}},
      {"image_folder",
       "your images as <root>/<class>/<image> (also tiny-ImageNet and SlimageNet64)",
       0,
       0,
       {Split::kTrain, Split::kTest}},
      {"fashion_mnist",
       "Fashion-MNIST, IDX files (gzip or raw)",
       28,
       10,
       {Split::kTrain, Split::kTest}},
      {"mnist", "MNIST, IDX files (gzip or raw)", 28, 10, {Split::kTrain, Split::kTest}},
      {"packed",
       "a pack made by `relnet data pack` (.npy files, memory-mapped)",
       0,
       0,
       {Split::kTrain, Split::kTest, Split::kUnlabeled}},
  };
  return specs;
}

const std::vector<std::string>& known_datasets() {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> out;
    for (const auto& s : dataset_specs()) out.push_back(s.name);
    return out;
  }();
  return names;
}

bool is_known_dataset(const std::string& name) {
  const auto& names = known_datasets();
  return std::find(names.begin(), names.end(), name) != names.end();
}

const DatasetSpec& dataset_spec(const std::string& name) {
  for (const auto& s : dataset_specs()) {
    if (s.name == name) return s;
  }
  std::string list;
  for (const auto& n : known_datasets()) list += (list.empty() ? "" : ", ") + n;
  throw std::invalid_argument("unknown dataset '" + name + "' (known: " + list + ")");
}

Normalization default_normalization(const std::string& name) {
  if (name == "cifar10") return {{0.491f, 0.482f, 0.447f}, {0.247f, 0.243f, 0.262f}};
  if (name == "cifar100" || name == "supercifar100") {
    return {{0.507f, 0.487f, 0.441f}, {0.267f, 0.256f, 0.276f}};
  }
  if (name == "stl10") return {{0.5f, 0.5f, 0.5f}, {0.5f, 0.5f, 0.5f}};
  if (name == "image_folder") return {{0.5f, 0.5f, 0.5f}, {0.25f, 0.25f, 0.25f}};
  // Measured on the 60,000 training images of each.
  if (name == "fashion_mnist") return {{0.286f, 0.286f, 0.286f}, {0.353f, 0.353f, 0.353f}};
  if (name == "mnist") return {{0.1307f, 0.1307f, 0.1307f}, {0.3081f, 0.3081f, 0.3081f}};
  if (name == "packed") {
    throw std::invalid_argument("a packed dataset's normalization is in its pack.json");
  }
  dataset_spec(name);  // throws naming the known datasets
  throw std::invalid_argument("unknown dataset '" + name + "'");
}

Normalization dataset_normalization(const std::string& name, const std::string& root) {
  if (name == "packed" || is_pack(root)) return read_pack_info(root).normalization;
  return default_normalization(name);
}

void prefetch_images(const ImageDataset& dataset, const int64_t* rows, int64_t n) {
  if (!dataset.mapping || n <= 0) return;
  const auto* base = static_cast<const uint8_t*>(dataset.images.data_ptr());
  const auto row_bytes =
      static_cast<size_t>(dataset.images.size(1) * dataset.images.size(2) * dataset.images.size(3));
  const auto offset = static_cast<size_t>(base - dataset.mapping->data());
  for (int64_t i = 0; i < n; ++i) {
    dataset.mapping->will_need(offset + static_cast<size_t>(rows[i]) * row_bytes, row_bytes);
  }
}

torch::Tensor resize_images(const torch::Tensor& images, int64_t side) {
  TORCH_CHECK(images.dim() == 4 && images.size(1) == 3 && images.scalar_type() == torch::kUInt8,
              "resize_images expects (N, 3, H, W) uint8");
  if (side < 1) throw std::invalid_argument("image side must be >= 1, got " + std::to_string(side));
  const int64_t n = images.size(0), h = images.size(2), w = images.size(3);
  if (h == side && w == side) return images;
  const torch::Tensor src = images.contiguous();
#ifndef RELNET_WITH_IMAGE_IO
  // Without OpenCV: area averaging when shrinking, bilinear when enlarging,
  // as OpenCV's INTER_AREA / INTER_LINEAR do (values may differ by rounding).
  namespace F = torch::nn::functional;
  const bool shrink = h > side || w > side;
  auto opts = F::InterpolateFuncOptions().size(std::vector<int64_t>{side, side});
  opts = shrink ? opts.mode(torch::kArea) : opts.mode(torch::kBilinear).align_corners(false);
  (void)n;
  return F::interpolate(src.to(torch::kFloat32), opts)
      .round()
      .clamp(0, 255)
      .to(torch::kUInt8)
      .contiguous();
#else
  torch::Tensor out = torch::empty({n, 3, side, side}, torch::kUInt8);  // (N, 3, side, side)
  const int interpolation = (h > side || w > side) ? cv::INTER_AREA : cv::INTER_LINEAR;
  const uint8_t* in = src.data_ptr<uint8_t>();
  uint8_t* dst = out.data_ptr<uint8_t>();
  at::parallel_for(0, n * 3, 64, [&](int64_t begin, int64_t end) {
    for (int64_t p = begin; p < end; ++p) {
      const cv::Mat plane(static_cast<int>(h), static_cast<int>(w), CV_8UC1,
                          const_cast<uint8_t*>(in + p * h * w));
      cv::Mat target(static_cast<int>(side), static_cast<int>(side), CV_8UC1,
                     dst + p * side * side);
      cv::resize(plane, target, target.size(), 0, 0, interpolation);
    }
  });
  return out;
#endif
}

ImageDataset load_dataset(const std::string& name, const std::string& root, Split split,
                          int64_t subset, int64_t image_size) {
  if (subset < 0) throw std::invalid_argument("subset must be >= 0, got " + std::to_string(subset));
  if (image_size < 0) {
    throw std::invalid_argument("image size must be >= 0, got " + std::to_string(image_size));
  }
  const DatasetSpec& spec = dataset_spec(name);
  if (name == "packed" || is_pack(root)) {
    if (name != "packed") {
      const std::string source = read_pack_info(root).source;
      if (source != name) {
        throw std::invalid_argument("'" + root + "' holds a pack of " + source + ", not " + name +
                                    ": use --dataset packed (or " + source + ")");
      }
    }
    return load_pack(root, split, subset, image_size);
  }
  if (std::find(spec.splits.begin(), spec.splits.end(), split) == spec.splits.end()) {
    std::string list;
    for (const auto s : spec.splits) list += (list.empty() ? "" : ", ") + to_string(s);
    throw std::invalid_argument(name + " has no " + to_string(split) + " split (splits: " + list +
                                ")");
  }
  ImageDataset ds;
  if (name == "cifar10") {
    ds = load_cifar10(root, split, subset);
  } else if (name == "cifar100" || name == "supercifar100") {
    ds = load_cifar100(root, split, subset, name == "supercifar100");
  } else if (name == "stl10") {
    ds = load_stl10(root, split, subset);
  } else if (name == "image_folder") {
    using clock = std::chrono::steady_clock;
    auto last = clock::now();
    return load_image_folder(
        root, split, subset, image_size > 0 ? image_size : 64,
        [&last](int64_t done, int64_t total) {
          const auto now = clock::now();
          if (total >= 2000 && (done == total || now - last > std::chrono::seconds(2))) {
            last = now;
            spdlog::info("decoding images: {}/{} ({:.0f}%)", done, total, 100.0 * done / total);
          }
        });
  } else {
    ds = load_idx_dataset(name, root, split, subset);
  }
  if (image_size > 0) ds.images = resize_images(ds.images, image_size);
  return ds;
}

}  // namespace relnet
