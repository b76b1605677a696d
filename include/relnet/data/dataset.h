// Datasets as plain values: every image in memory as uint8 (N, 3, H, W),
// labels as int64. One factory opens a dataset by name from a root folder.
#pragma once

#include <torch/torch.h>

#include <array>
#include <cstdint>
#include <string>
#include <vector>

namespace relnet {

// Per-channel mean and std applied after scaling pixels to [0, 1].
struct Normalization {
  std::array<float, 3> mean{0.5f, 0.5f, 0.5f};
  std::array<float, 3> std{0.5f, 0.5f, 0.5f};
};

enum class Split { kTrain, kTest };

// "train" or "test".
std::string to_string(Split split);

struct ImageDataset {
  std::string name;                       // registry name, e.g. "cifar10"
  torch::Tensor images;                   // (N, 3, H, W) uint8, contiguous
  torch::Tensor labels;                   // (N) int64 in [0, num_classes)
  int64_t num_classes = 0;
  std::vector<std::string> class_names;   // size num_classes
  int64_t size() const { return images.defined() ? images.size(0) : 0; }
  int64_t side() const { return images.defined() ? images.size(3) : 0; }
};

// Names accepted by load_dataset: "cifar10", "fashion_mnist", "mnist".
const std::vector<std::string>& known_datasets();

// True when `name` is in known_datasets().
bool is_known_dataset(const std::string& name);

// The normalization REFERENCE.md gives for the dataset (measured mean/std for
// Fashion-MNIST and MNIST). Throws std::invalid_argument for unknown names.
Normalization default_normalization(const std::string& name);

// Loads a split of dataset `name` from `root` (the folder that holds the
// dataset's files, see each reader). `subset` > 0 keeps only the first
// `subset` images of the split (0 = all). Grayscale datasets are replicated
// to 3 identical channels so every backbone and checkpoint takes any dataset.
// Throws std::runtime_error naming the file, what was expected and what was
// found when a file is missing, truncated or malformed.
ImageDataset load_dataset(const std::string& name, const std::string& root,
                          Split split, int64_t subset = 0);

}  // namespace relnet
