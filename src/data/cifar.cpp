// CIFAR-10 binary reader: each batch file is read with one read into a buffer
// and its records are copied with memcpy (the file's R, G, B planes are
// already the CHW layout of the output tensor).
#include "relnet/data/cifar.h"

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <vector>

namespace relnet {
namespace {

namespace fs = std::filesystem;

constexpr int64_t kRecordsPerFile = 10000;
constexpr int64_t kImageBytes = 3 * 32 * 32;
constexpr int64_t kRecordBytes = 1 + kImageBytes;
constexpr int64_t kFileBytes = kRecordsPerFile * kRecordBytes;  // 30,730,000
constexpr int64_t kNumClasses = 10;

std::vector<std::string> split_files(Split split) {
  if (split == Split::kTest) return {"test_batch.bin"};
  return {"data_batch_1.bin", "data_batch_2.bin", "data_batch_3.bin", "data_batch_4.bin",
          "data_batch_5.bin"};
}

// Copies the first `count` records of the batch file at `path` into
// images[offset, offset + count) and labels[offset, offset + count).
// Checks the file's size (always the full 30,730,000 bytes) and every label
// read. `buffer` is scratch space reused across files.
void read_batch_file(const std::string& path, int64_t count, int64_t offset, uint8_t* images,
                     int64_t* labels, std::vector<char>& buffer) {
  std::error_code ec;
  if (!fs::is_regular_file(path, ec)) {
    throw std::runtime_error("CIFAR-10 file missing: '" + path + "'");
  }
  const auto size = fs::file_size(path, ec);
  if (ec)
    throw std::runtime_error("CIFAR-10 file '" + path + "' could not be sized: " + ec.message());
  if (static_cast<int64_t>(size) != kFileBytes) {
    throw std::runtime_error("CIFAR-10 file '" + path + "' has " + std::to_string(size) +
                             " bytes, expected " + std::to_string(kFileBytes) + " (" +
                             std::to_string(kRecordsPerFile) + " records of " +
                             std::to_string(kRecordBytes) + " bytes)");
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("CIFAR-10 file '" + path + "' could not be opened");
  const int64_t bytes = count * kRecordBytes;
  buffer.resize(static_cast<size_t>(bytes));
  in.read(buffer.data(), bytes);
  if (in.gcount() != bytes) {
    throw std::runtime_error("CIFAR-10 file '" + path + "': read " + std::to_string(in.gcount()) +
                             " bytes, expected " + std::to_string(bytes));
  }
  for (int64_t i = 0; i < count; ++i) {
    const char* record = buffer.data() + i * kRecordBytes;
    const auto label = static_cast<uint8_t>(record[0]);
    if (label >= kNumClasses) {
      throw std::runtime_error("CIFAR-10 file '" + path + "': record " + std::to_string(i) +
                               " has label " + std::to_string(label) + ", expected 0..9");
    }
    labels[offset + i] = label;
    std::memcpy(images + (offset + i) * kImageBytes, record + 1, kImageBytes);
  }
}

}  // namespace

std::string cifar10_dir(const std::string& root) {
  std::error_code ec;
  if (!fs::exists(root, ec)) {
    throw std::runtime_error("CIFAR-10 data root '" + root + "' does not exist");
  }
  const fs::path nested = fs::path(root) / "cifar-10-batches-bin";
  if (fs::is_directory(nested, ec)) return nested.string();
  if (fs::is_regular_file(fs::path(root) / "data_batch_1.bin", ec)) return root;
  throw std::runtime_error("CIFAR-10 folder not found: neither '" + nested.string() + "' nor '" +
                           root + "' holds data_batch_1.bin");
}

ImageDataset load_cifar10(const std::string& root, Split split, int64_t subset) {
  if (subset < 0) {
    throw std::invalid_argument("subset must be >= 0, got " + std::to_string(subset));
  }
  const std::string dir = cifar10_dir(root);
  const std::vector<std::string> files = split_files(split);
  const int64_t split_size = static_cast<int64_t>(files.size()) * kRecordsPerFile;
  if (subset > split_size) {
    throw std::runtime_error("subset " + std::to_string(subset) + " is larger than the CIFAR-10 " +
                             to_string(split) + " split (" + std::to_string(split_size) +
                             " images)");
  }
  const int64_t n = subset > 0 ? subset : split_size;

  ImageDataset ds;
  ds.name = "cifar10";
  ds.num_classes = kNumClasses;
  ds.class_names = {"airplane", "automobile", "bird",  "cat",  "deer",
                    "dog",      "frog",       "horse", "ship", "truck"};
  ds.images = torch::empty({n, 3, 32, 32}, torch::kUInt8);  // (N, 3, 32, 32)
  ds.labels = torch::empty({n}, torch::kInt64);             // (N)
  auto* images = ds.images.data_ptr<uint8_t>();
  auto* labels = ds.labels.data_ptr<int64_t>();

  std::vector<char> buffer;
  int64_t loaded = 0;
  for (size_t f = 0; f < files.size() && loaded < n; ++f) {
    const int64_t count = std::min(kRecordsPerFile, n - loaded);
    read_batch_file((fs::path(dir) / files[f]).string(), count, loaded, images, labels, buffer);
    loaded += count;
  }
  return ds;
}

}  // namespace relnet
