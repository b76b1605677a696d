// Dataset registry: names, default normalizations, and the loader dispatch.
#include "relnet/data/dataset.h"

#include <algorithm>
#include <stdexcept>

#include "relnet/data/cifar.h"
#include "relnet/data/idx.h"

namespace relnet {

std::string to_string(Split split) { return split == Split::kTrain ? "train" : "test"; }

const std::vector<std::string>& known_datasets() {
  static const std::vector<std::string> names = {"cifar10", "fashion_mnist", "mnist"};
  return names;
}

bool is_known_dataset(const std::string& name) {
  const auto& names = known_datasets();
  return std::find(names.begin(), names.end(), name) != names.end();
}

Normalization default_normalization(const std::string& name) {
  if (name == "cifar10") return {{0.491f, 0.482f, 0.447f}, {0.247f, 0.243f, 0.262f}};
  // Measured on the 60,000 training images of each.
  if (name == "fashion_mnist") return {{0.286f, 0.286f, 0.286f}, {0.353f, 0.353f, 0.353f}};
  if (name == "mnist") return {{0.1307f, 0.1307f, 0.1307f}, {0.3081f, 0.3081f, 0.3081f}};
  throw std::invalid_argument("unknown dataset '" + name + "'");
}

ImageDataset load_dataset(const std::string& name, const std::string& root, Split split,
                          int64_t subset) {
  if (subset < 0) throw std::invalid_argument("subset must be >= 0, got " + std::to_string(subset));
  if (name == "cifar10") return load_cifar10(root, split, subset);
  if (name == "fashion_mnist" || name == "mnist") return load_idx_dataset(name, root, split, subset);
  std::string list;
  for (const auto& n : known_datasets()) list += (list.empty() ? "" : ", ") + n;
  throw std::invalid_argument("unknown dataset '" + name + "' (known: " + list + ")");
}

}  // namespace relnet
