// STL-10 binary reader. Images are read and transposed in parallel: each
// chunk of images is read with pread into a per-chunk buffer and every
// column-major 96 x 96 plane is transposed into the output tensor.
#include "relnet/data/stl10.h"

#include <ATen/Parallel.h>
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <stdexcept>
#include <vector>

#include "relnet/util/file_kind.h"

namespace relnet {
namespace {

namespace fs = std::filesystem;

constexpr int64_t kSide = 96;
constexpr int64_t kPlane = kSide * kSide;
constexpr int64_t kImageBytes = 3 * kPlane;  // 27,648

int64_t file_bytes(const std::string& path) {
  require_data_file(path, "STL-10");
  std::error_code ec;
  const auto size = fs::file_size(path, ec);
  if (ec)
    throw std::runtime_error("STL-10 file '" + path + "' could not be sized: " + ec.message());
  return static_cast<int64_t>(size);
}

// Reads images [0, n) of `path` into `out` ((n, 3, 96, 96) uint8), upright.
void read_images(const std::string& path, int64_t n, uint8_t* out) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    throw std::runtime_error("STL-10 file '" + path +
                             "' could not be opened: " + std::strerror(errno));
  }
  std::string error;
  std::mutex error_mutex;
  constexpr int64_t kChunk = 64;
  at::parallel_for(0, (n + kChunk - 1) / kChunk, 1, [&](int64_t begin, int64_t end) {
    std::vector<uint8_t> buffer(static_cast<size_t>(kChunk * kImageBytes));
    for (int64_t c = begin; c < end; ++c) {
      const int64_t first = c * kChunk;
      const int64_t count = std::min(kChunk, n - first);
      const int64_t bytes = count * kImageBytes;
      int64_t done = 0;
      while (done < bytes) {
        const ssize_t got = ::pread(fd, buffer.data() + done, static_cast<size_t>(bytes - done),
                                    static_cast<off_t>(first * kImageBytes + done));
        if (got < 0 && errno == EINTR) continue;
        if (got <= 0) {
          std::lock_guard<std::mutex> lock(error_mutex);
          error = "STL-10 file '" + path + "' could not be read at byte " +
                  std::to_string(first * kImageBytes + done) + ": " +
                  (got == 0 ? std::string("unexpected end of file") : std::strerror(errno));
          return;
        }
        done += got;
      }
      for (int64_t p = 0; p < count * 3; ++p) {
        const uint8_t* src = buffer.data() + p * kPlane;  // column-major: src[x * 96 + y]
        uint8_t* dst = out + (first * 3 + p) * kPlane;    // row-major: dst[y * 96 + x]
        for (int64_t y = 0; y < kSide; ++y) {
          for (int64_t x = 0; x < kSide; ++x) dst[y * kSide + x] = src[x * kSide + y];
        }
      }
    }
  });
  ::close(fd);
  if (!error.empty()) throw std::runtime_error(error);
}

}  // namespace

std::string stl10_dir(const std::string& root) {
  std::error_code ec;
  if (!fs::exists(root, ec))
    throw std::runtime_error("STL-10 data root '" + root + "' does not exist");
  const fs::path nested = fs::path(root) / "stl10_binary";
  if (fs::is_directory(nested, ec)) return nested.string();
  if (fs::is_regular_file(fs::path(root) / "train_X.bin", ec)) return root;
  throw std::runtime_error("STL-10 folder not found: neither '" + nested.string() + "' nor '" +
                           root + "' holds train_X.bin");
}

ImageDataset load_stl10(const std::string& root, Split split, int64_t subset) {
  if (subset < 0) throw std::invalid_argument("subset must be >= 0, got " + std::to_string(subset));
  const fs::path dir = stl10_dir(root);
  const std::string images_path = (dir / (to_string(split) + "_X.bin")).string();
  const int64_t bytes = file_bytes(images_path);
  if (bytes == 0 || bytes % kImageBytes != 0) {
    throw std::runtime_error("STL-10 file '" + images_path + "' has " + std::to_string(bytes) +
                             " bytes, not a whole number of " + std::to_string(kImageBytes) +
                             "-byte images (3 x 96 x 96)");
  }
  const int64_t split_size = bytes / kImageBytes;
  if (subset > split_size) {
    throw std::runtime_error("subset " + std::to_string(subset) + " is larger than the STL-10 " +
                             to_string(split) + " split (" + std::to_string(split_size) +
                             " images)");
  }
  const int64_t n = subset > 0 ? subset : split_size;

  ImageDataset ds;
  ds.name = "stl10";
  ds.num_classes = 10;
  ds.class_names = {"airplane", "bird",  "car",    "cat",  "deer",
                    "dog",      "horse", "monkey", "ship", "truck"};
  ds.labels = torch::full({n}, -1, torch::kInt64);  // (N)
  if (split != Split::kUnlabeled) {
    const std::string labels_path = (dir / (to_string(split) + "_y.bin")).string();
    const int64_t label_count = file_bytes(labels_path);
    if (label_count != split_size) {
      throw std::runtime_error("STL-10 files disagree: '" + images_path + "' holds " +
                               std::to_string(split_size) + " images but '" + labels_path +
                               "' holds " + std::to_string(label_count) + " labels");
    }
    std::ifstream in(labels_path, std::ios::binary);
    std::vector<char> raw(static_cast<size_t>(n));
    in.read(raw.data(), n);
    if (in.gcount() != n) {
      throw std::runtime_error("STL-10 file '" + labels_path + "' could not be read");
    }
    auto* labels = ds.labels.data_ptr<int64_t>();
    for (int64_t i = 0; i < n; ++i) {
      const auto value = static_cast<uint8_t>(raw[static_cast<size_t>(i)]);
      if (value < 1 || value > 10) {
        throw std::runtime_error("STL-10 file '" + labels_path + "': label " + std::to_string(i) +
                                 " is " + std::to_string(value) + ", expected 1..10");
      }
      labels[i] = value - 1;
    }
  }
  ds.images = torch::empty({n, 3, kSide, kSide}, torch::kUInt8);  // (N, 3, 96, 96)
  read_images(images_path, n, ds.images.data_ptr<uint8_t>());
  return ds;
}

}  // namespace relnet
