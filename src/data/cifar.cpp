// CIFAR binary readers. Files are read in chunks of records with plain
// read(2) into one small reusable buffer (it stays in cache), and each
// record's R, G, B planes, already the CHW layout of the output tensor, are
// copied with memcpy. The output tensor is the only large allocation.
#include "relnet/data/cifar.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <stdexcept>
#include <vector>

#include "relnet/util/file_kind.h"

namespace relnet {
namespace {

namespace fs = std::filesystem;

constexpr int64_t kImageBytes = 3 * 32 * 32;
constexpr int64_t kChunkRecords = 512;

// One on-disk variant: which files form a split and how a record looks.
struct CifarFormat {
  std::string title;    // for messages: "CIFAR-10", "CIFAR-100"
  int64_t label_bytes;  // label bytes before the pixels
  int64_t label_index;  // which label byte is the class
  int64_t num_classes;
  int64_t records_per_file(Split split) const {
    return label_bytes == 1 ? 10000 : (split == Split::kTrain ? 50000 : 10000);
  }
  std::vector<std::string> files(Split split) const {
    if (label_bytes == 1) {
      if (split == Split::kTest) return {"test_batch.bin"};
      return {"data_batch_1.bin", "data_batch_2.bin", "data_batch_3.bin", "data_batch_4.bin",
              "data_batch_5.bin"};
    }
    return {split == Split::kTest ? "test.bin" : "train.bin"};
  }
  int64_t record_bytes() const { return label_bytes + kImageBytes; }
};

class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }

 private:
  int fd_;
};

// Reads exactly `bytes` bytes or throws naming the file.
void read_exact(int fd, char* dst, int64_t bytes, const std::string& path,
                const std::string& title) {
  int64_t done = 0;
  while (done < bytes) {
    const ssize_t got = ::read(fd, dst + done, static_cast<size_t>(bytes - done));
    if (got < 0 && errno == EINTR) continue;
    if (got < 0) {
      throw std::runtime_error(title + " file '" + path +
                               "' could not be read: " + std::strerror(errno));
    }
    if (got == 0) {
      throw std::runtime_error(title + " file '" + path + "' ended after " + std::to_string(done) +
                               " bytes of a read of " + std::to_string(bytes));
    }
    done += got;
  }
}

// Copies the first `count` records of the file at `path` into
// images[offset, offset + count) and labels[offset, offset + count).
// Checks the file's size (always the whole split's records) and every label.
void read_records(const CifarFormat& format, const std::string& path, int64_t file_records,
                  int64_t count, int64_t offset, uint8_t* images, int64_t* labels,
                  std::vector<char>& buffer) {
  require_data_file(path, format.title);
  std::error_code ec;
  const auto size = fs::file_size(path, ec);
  if (ec) {
    throw std::runtime_error(format.title + " file '" + path +
                             "' could not be sized: " + ec.message());
  }
  const int64_t expected = file_records * format.record_bytes();
  if (static_cast<int64_t>(size) != expected) {
    throw std::runtime_error(format.title + " file '" + path + "' has " + std::to_string(size) +
                             " bytes, expected " + std::to_string(expected) + " (" +
                             std::to_string(file_records) + " records of " +
                             std::to_string(format.record_bytes()) + " bytes)");
  }
  Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0) {
    throw std::runtime_error(format.title + " file '" + path +
                             "' could not be opened: " + std::strerror(errno));
  }
  ::posix_fadvise(fd.get(), 0, 0, POSIX_FADV_SEQUENTIAL);
  const int64_t record = format.record_bytes();
  buffer.resize(static_cast<size_t>(kChunkRecords * record));
  for (int64_t first = 0; first < count; first += kChunkRecords) {
    const int64_t n = std::min(kChunkRecords, count - first);
    read_exact(fd.get(), buffer.data(), n * record, path, format.title);
    for (int64_t i = 0; i < n; ++i) {
      const char* rec = buffer.data() + i * record;
      const auto label = static_cast<uint8_t>(rec[format.label_index]);
      if (label >= format.num_classes) {
        throw std::runtime_error(format.title + " file '" + path + "': record " +
                                 std::to_string(first + i) + " has label " + std::to_string(label) +
                                 ", expected 0.." + std::to_string(format.num_classes - 1));
      }
      labels[offset + first + i] = label;
      std::memcpy(images + (offset + first + i) * kImageBytes, rec + format.label_bytes,
                  kImageBytes);
    }
  }
}

ImageDataset load_cifar(const CifarFormat& format, const std::string& dir, Split split,
                        int64_t subset, ImageDataset ds) {
  if (subset < 0) {
    throw std::invalid_argument("subset must be >= 0, got " + std::to_string(subset));
  }
  if (split == Split::kUnlabeled) {
    throw std::invalid_argument(format.title + " has no unlabeled split (splits: train, test)");
  }
  const std::vector<std::string> files = format.files(split);
  const int64_t per_file = format.records_per_file(split);
  const int64_t split_size = static_cast<int64_t>(files.size()) * per_file;
  if (subset > split_size) {
    throw std::runtime_error("subset " + std::to_string(subset) + " is larger than the " +
                             format.title + " " + to_string(split) + " split (" +
                             std::to_string(split_size) + " images)");
  }
  const int64_t n = subset > 0 ? subset : split_size;
  ds.num_classes = format.num_classes;
  ds.images = torch::empty({n, 3, 32, 32}, torch::kUInt8);  // (N, 3, 32, 32)
  ds.labels = torch::empty({n}, torch::kInt64);             // (N)
  auto* images = ds.images.data_ptr<uint8_t>();
  auto* labels = ds.labels.data_ptr<int64_t>();
  std::vector<char> buffer;
  int64_t loaded = 0;
  for (size_t f = 0; f < files.size() && loaded < n; ++f) {
    const int64_t count = std::min(per_file, n - loaded);
    read_records(format, (fs::path(dir) / files[f]).string(), per_file, count, loaded, images,
                 labels, buffer);
    loaded += count;
  }
  return ds;
}

std::string find_dir(const std::string& root, const std::string& nested_name,
                     const std::string& marker, const std::string& title) {
  std::error_code ec;
  if (!fs::exists(root, ec)) {
    throw std::runtime_error(title + " data root '" + root + "' does not exist");
  }
  const fs::path nested = fs::path(root) / nested_name;
  if (fs::is_directory(nested, ec)) return nested.string();
  if (fs::is_regular_file(fs::path(root) / marker, ec)) return root;
  throw std::runtime_error(title + " folder not found: neither '" + nested.string() + "' nor '" +
                           root + "' holds " + marker);
}

const std::vector<std::string>& cifar100_fine_names() {
  static const std::vector<std::string> names = {
      "apple",       "aquarium_fish", "baby",      "bear",       "beaver",       "bed",
      "bee",         "beetle",        "bicycle",   "bottle",     "bowl",         "boy",
      "bridge",      "bus",           "butterfly", "camel",      "can",          "castle",
      "caterpillar", "cattle",        "chair",     "chimpanzee", "clock",        "cloud",
      "cockroach",   "couch",         "crab",      "crocodile",  "cup",          "dinosaur",
      "dolphin",     "elephant",      "flatfish",  "forest",     "fox",          "girl",
      "hamster",     "house",         "kangaroo",  "keyboard",   "lamp",         "lawn_mower",
      "leopard",     "lion",          "lizard",    "lobster",    "man",          "maple_tree",
      "motorcycle",  "mountain",      "mouse",     "mushroom",   "oak_tree",     "orange",
      "orchid",      "otter",         "palm_tree", "pear",       "pickup_truck", "pine_tree",
      "plain",       "plate",         "poppy",     "porcupine",  "possum",       "rabbit",
      "raccoon",     "ray",           "road",      "rocket",     "rose",         "sea",
      "seal",        "shark",         "shrew",     "skunk",      "skyscraper",   "snail",
      "snake",       "spider",        "squirrel",  "streetcar",  "sunflower",    "sweet_pepper",
      "table",       "tank",          "telephone", "television", "tiger",        "tractor",
      "train",       "trout",         "tulip",     "turtle",     "wardrobe",     "whale",
      "willow_tree", "wolf",          "woman",     "worm"};
  return names;
}

const std::vector<std::string>& cifar100_coarse_names() {
  static const std::vector<std::string> names = {"aquatic_mammals",
                                                 "fish",
                                                 "flowers",
                                                 "food_containers",
                                                 "fruit_and_vegetables",
                                                 "household_electrical_devices",
                                                 "household_furniture",
                                                 "insects",
                                                 "large_carnivores",
                                                 "large_man-made_outdoor_things",
                                                 "large_natural_outdoor_scenes",
                                                 "large_omnivores_and_herbivores",
                                                 "medium_mammals",
                                                 "non-insect_invertebrates",
                                                 "people",
                                                 "reptiles",
                                                 "small_mammals",
                                                 "trees",
                                                 "vehicles_1",
                                                 "vehicles_2"};
  return names;
}

}  // namespace

std::string cifar10_dir(const std::string& root) {
  return find_dir(root, "cifar-10-batches-bin", "data_batch_1.bin", "CIFAR-10");
}

std::string cifar100_dir(const std::string& root) {
  return find_dir(root, "cifar-100-binary", "train.bin", "CIFAR-100");
}

ImageDataset load_cifar10(const std::string& root, Split split, int64_t subset) {
  const CifarFormat format{"CIFAR-10", 1, 0, 10};
  ImageDataset ds;
  ds.name = "cifar10";
  ds.class_names = {"airplane", "automobile", "bird",  "cat",  "deer",
                    "dog",      "frog",       "horse", "ship", "truck"};
  return load_cifar(format, cifar10_dir(root), split, subset, std::move(ds));
}

ImageDataset load_cifar100(const std::string& root, Split split, int64_t subset, bool coarse) {
  const CifarFormat format{"CIFAR-100", 2, coarse ? 0 : 1, coarse ? 20 : 100};
  ImageDataset ds;
  ds.name = coarse ? "supercifar100" : "cifar100";
  ds.class_names = coarse ? cifar100_coarse_names() : cifar100_fine_names();
  return load_cifar(format, cifar100_dir(root), split, subset, std::move(ds));
}

}  // namespace relnet
