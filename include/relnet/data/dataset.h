// Datasets as plain values: every image in memory as uint8 (N, 3, H, W),
// labels as int64. One factory opens a dataset by name from a root folder.
#pragma once

#include <torch/torch.h>

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "relnet/util/fs.h"

namespace relnet {

// Per-channel mean and std applied after scaling pixels to [0, 1].
struct Normalization {
  std::array<float, 3> mean{0.5f, 0.5f, 0.5f};
  std::array<float, 3> std{0.5f, 0.5f, 0.5f};
};

// kUnlabeled exists for STL-10 (100,000 images without labels, the split the
// paper self-supervises on); its labels are all -1.
enum class Split { kTrain, kTest, kUnlabeled };

// "train", "test" or "unlabeled".
std::string to_string(Split split);

// Parses "train" | "test" | "unlabeled"; throws std::invalid_argument otherwise.
Split parse_split(const std::string& text);

// The split a self-supervised run uses for data.split = "auto": STL-10's
// unlabeled split, the train split of every other dataset; for a pack (the
// name "packed", or a `root` holding pack.json) its source dataset's.
Split default_train_split(const std::string& dataset, const std::string& root = "");

struct ImageDataset {
  std::string name;      // registry name, e.g. "cifar10"
  torch::Tensor images;  // (N, 3, H, W) uint8, contiguous
  torch::Tensor labels;  // (N) int64 in [0, num_classes); -1 = unlabeled
  int64_t num_classes = 0;
  std::vector<std::string> class_names;  // size num_classes
  // Set when `images` points into a memory-mapped pack (data/packed.h)
  // rather than memory of its own: the pixels are read-only and paged in
  // from the file on first touch.
  std::shared_ptr<const MappedFile> mapping;
  int64_t size() const { return images.defined() ? images.size(0) : 0; }
  int64_t side() const { return images.defined() ? images.size(3) : 0; }
};

// What the registry knows of a dataset without reading it.
struct DatasetSpec {
  std::string name;
  std::string description;    // one line for help and docs
  int64_t side = 0;           // native image side; 0 = any (image folders)
  int64_t num_classes = 0;    // 0 = found on disk (image folders)
  std::vector<Split> splits;  // splits it has
};

// Every dataset load_dataset accepts, in display order.
const std::vector<DatasetSpec>& dataset_specs();

// The spec of `name`; throws std::invalid_argument listing the known names.
const DatasetSpec& dataset_spec(const std::string& name);

// Names accepted by load_dataset: cifar10, cifar100, supercifar100, stl10,
// image_folder, fashion_mnist, mnist, packed.
const std::vector<std::string>& known_datasets();

// True when `name` is in known_datasets().
bool is_known_dataset(const std::string& name);

// The normalization REFERENCE.md gives for the dataset (measured mean/std for
// Fashion-MNIST and MNIST). Throws std::invalid_argument for unknown names
// and for "packed", whose normalization is in its pack.json (see below).
Normalization default_normalization(const std::string& name);

// The normalization a run on dataset `name` at `root` uses by default:
// default_normalization(name), or for a pack (the name "packed", or a `root`
// holding pack.json) the one recorded in it. Throws like load_dataset when
// the pack's pack.json is missing or malformed.
Normalization dataset_normalization(const std::string& name, const std::string& root);

// Hints that rows `rows[0..n)` of `dataset.images` are needed soon: for a
// memory-mapped pack the kernel starts reading them from disk now; a no-op
// for images in memory.
void prefetch_images(const ImageDataset& dataset, const int64_t* rows, int64_t n);

// Loads a split of dataset `name` from `root` (the folder that holds the
// dataset's files, see each reader). A `root` holding a pack made by
// `relnet data pack` (pack.json) is memory-mapped instead of read, for the
// name "packed" or the pack's source dataset (another name is refused);
// packs are never resized: an `image_size` other than 0 or the pack's side
// is refused. `subset` > 0 keeps only the first
// `subset` images of the split (0 = all). Grayscale datasets are replicated
// to 3 identical channels so every backbone and checkpoint takes any dataset.
// `image_size` > 0 resizes every image to image_size x image_size (area
// interpolation when shrinking, bilinear when enlarging); 0 keeps the native
// side (image folders, whose images vary, then use 64).
// Throws std::runtime_error naming the file, what was expected and what was
// found when a file is missing, truncated or malformed.
ImageDataset load_dataset(const std::string& name, const std::string& root, Split split,
                          int64_t subset = 0, int64_t image_size = 0);

// Resizes (N, 3, H, W) uint8 images to (N, 3, side, side), in parallel.
torch::Tensor resize_images(const torch::Tensor& images, int64_t side);

}  // namespace relnet
