// IDX reader (MNIST, Fashion-MNIST) on zlib's gz* API, which reads gzip and
// raw files alike. Only the header and the bytes needed for `limit` items are
// read.
#include "relnet/data/idx.h"

#include <zlib.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <functional>
#include <memory>
#include <stdexcept>
#include <vector>

#include "relnet/util/file_kind.h"

namespace relnet {
namespace {

namespace fs = std::filesystem;

constexpr uint32_t kImagesMagic = 0x00000803;  // uint8 data, 3 dimensions
constexpr uint32_t kLabelsMagic = 0x00000801;  // uint8 data, 1 dimension
constexpr int64_t kNumClasses = 10;
// Largest accepted image side; keeps N * rows * cols within int64.
constexpr uint32_t kMaxSide = 1u << 15;
// Decompressed bytes requested per gzread call, and per chunk of items.
constexpr int64_t kReadChunk = int64_t{1} << 24;
constexpr int64_t kChunkBytes = int64_t{1} << 20;
// Upper bound on deflate's expansion (1032:1 in theory), with margin.
constexpr int64_t kMaxDeflateRatio = 1100;

struct GzCloser {
  void operator()(gzFile_s* file) const { gzclose(file); }
};
using GzHandle = std::unique_ptr<gzFile_s, GzCloser>;

// An open IDX file positioned just after its header.
struct IdxFile {
  std::string path;
  GzHandle file;
  int64_t file_bytes = 0;     // size on disk
  std::vector<int64_t> dims;  // as announced by the header
};

std::string hex8(uint32_t value) {
  char text[11];
  std::snprintf(text, sizeof(text), "0x%08x", value);
  return text;
}

// Reads up to `bytes` decompressed bytes into `dst`; returns how many were
// read (fewer only at end of file). Throws when zlib reports corrupt data.
int64_t read_up_to(IdxFile& idx, uint8_t* dst, int64_t bytes) {
  int64_t done = 0;
  while (done < bytes) {
    const auto want = static_cast<unsigned>(std::min(bytes - done, kReadChunk));
    const int got = gzread(idx.file.get(), dst + done, want);
    if (got < 0) {
      int errnum = 0;
      const char* msg = gzerror(idx.file.get(), &errnum);
      throw std::runtime_error("IDX file '" + idx.path + "' could not be decompressed: " +
                               (msg ? msg : "unknown zlib error"));
    }
    if (got == 0) break;
    done += got;
  }
  return done;
}

// Opens `path` and reads its header: the magic must be `magic` and the
// dimension count is the magic's low byte. `kind` ("images" or "labels")
// appears in the bad-magic message.
IdxFile open_idx(const std::string& path, uint32_t magic, const char* kind) {
  require_data_file(path, "IDX");
  std::error_code ec;
  IdxFile idx{path,
              GzHandle(gzopen(path.c_str(), "rb")),
              static_cast<int64_t>(fs::file_size(path, ec)),
              {}};
  if (!idx.file) throw std::runtime_error("IDX file '" + path + "' could not be opened");
  gzbuffer(idx.file.get(), 1u << 20);

  const int64_t ndims = magic & 0xff;
  const int64_t header_bytes = 4 * (1 + ndims);
  uint8_t header[16] = {};
  const int64_t got = read_up_to(idx, header, header_bytes);
  auto be32 = [&](int i) {
    return uint32_t{header[4 * i]} << 24 | uint32_t{header[4 * i + 1]} << 16 |
           uint32_t{header[4 * i + 2]} << 8 | uint32_t{header[4 * i + 3]};
  };
  if (got >= 4 && be32(0) != magic) {
    throw std::runtime_error("IDX file '" + path + "' has magic " + hex8(be32(0)) + ", expected " +
                             hex8(magic) + " (" + kind + ")");
  }
  if (got < header_bytes) {
    throw std::runtime_error("IDX file '" + path + "' is truncated: expected " +
                             std::to_string(header_bytes) + " bytes of header, found " +
                             std::to_string(got));
  }
  for (int i = 1; i <= ndims; ++i) idx.dims.push_back(be32(i));
  return idx;
}

// Opens an image file and checks its image size.
IdxFile open_images(const std::string& path) {
  IdxFile idx = open_idx(path, kImagesMagic, "images");
  const int64_t rows = idx.dims[1], cols = idx.dims[2];
  if (rows == 0 || cols == 0 || rows > kMaxSide || cols > kMaxSide) {
    throw std::runtime_error("IDX file '" + path + "' has image size " + std::to_string(rows) +
                             "x" + std::to_string(cols) + ", expected 1.." +
                             std::to_string(kMaxSide) + " per side");
  }
  return idx;
}

// Throws the truncation error for a read of `bytes` that found only `done`,
// first counting what is left so the message says how much data the file
// holds.
[[noreturn]] void throw_truncated(IdxFile& idx, int64_t bytes, int64_t done) {
  std::vector<uint8_t> scratch(static_cast<size_t>(kChunkBytes));
  while (done < bytes) {
    const int64_t more = read_up_to(idx, scratch.data(), std::min(kChunkBytes, bytes - done));
    if (more == 0) break;
    done += more;
  }
  throw std::runtime_error("IDX file '" + idx.path + "' is truncated: expected " +
                           std::to_string(bytes) + " bytes of data, found " + std::to_string(done));
}

// Throws the truncation error, before any output is allocated, when the
// file cannot possibly hold `bytes` more bytes: a raw file's size is exact,
// and deflate expands data at most about 1032-fold.
void check_plausible(IdxFile& idx, int64_t bytes) {
  const int64_t header = 4 * (1 + static_cast<int64_t>(idx.dims.size()));
  const int64_t most =
      gzdirect(idx.file.get()) ? idx.file_bytes - header : idx.file_bytes * kMaxDeflateRatio;
  if (bytes > most) throw_truncated(idx, bytes, 0);
}

// Reads the next `count` items of `item_bytes` each, in chunks of whole
// items, passing each chunk to `consume(data, first_item, items)`. Throws
// naming the file when fewer bytes remain.
void read_items(IdxFile& idx, int64_t count, int64_t item_bytes,
                const std::function<void(const uint8_t*, int64_t, int64_t)>& consume) {
  const int64_t per_chunk = std::max<int64_t>(1, kChunkBytes / item_bytes);
  std::vector<uint8_t> chunk(static_cast<size_t>(std::min(count, per_chunk) * item_bytes));
  for (int64_t first = 0; first < count; first += per_chunk) {
    const int64_t items = std::min(per_chunk, count - first);
    const int64_t got = read_up_to(idx, chunk.data(), items * item_bytes);
    if (got < items * item_bytes)
      throw_truncated(idx, count * item_bytes, first * item_bytes + got);
    consume(chunk.data(), first, items);
  }
}

// After every item of the file was read: a gzip stream must end with its
// trailer (CRC-32 and length), which zlib checks only when asked for more.
// A stream cut before it reads as end of file with Z_BUF_ERROR.
void check_complete(IdxFile& idx) {
  uint8_t extra = 0;
  if (read_up_to(idx, &extra, 1) > 0) return;  // trailing bytes: the items are all there
  int errnum = Z_OK;
  gzerror(idx.file.get(), &errnum);
  if (errnum == Z_BUF_ERROR) {
    throw std::runtime_error("IDX file '" + idx.path +
                             "' is truncated: the gzip stream ends before its trailer (CRC-32 "
                             "and length)");
  }
}

// The first `n` images of an open image file as (n, channels, rows, cols)
// uint8, the gray plane copied into every channel.
torch::Tensor read_images(IdxFile& idx, int64_t n, int64_t channels) {
  const int64_t rows = idx.dims[1], cols = idx.dims[2];
  const int64_t plane = rows * cols;
  check_plausible(idx, n * plane);
  torch::Tensor images = torch::empty({n, channels, rows, cols}, torch::kUInt8);
  uint8_t* out = images.data_ptr<uint8_t>();
  read_items(idx, n, plane, [&](const uint8_t* data, int64_t first, int64_t items) {
    for (int64_t i = 0; i < items; ++i)
      for (int64_t c = 0; c < channels; ++c)
        std::memcpy(out + ((first + i) * channels + c) * plane, data + i * plane, plane);
  });
  if (n == idx.dims[0]) check_complete(idx);
  return images;
}

// The first `n` labels of an open label file: (n) int64.
torch::Tensor read_labels(IdxFile& idx, int64_t n) {
  check_plausible(idx, n);
  torch::Tensor labels = torch::empty({n}, torch::kInt64);
  int64_t* out = labels.data_ptr<int64_t>();
  read_items(idx, n, 1, [&](const uint8_t* data, int64_t first, int64_t items) {
    std::copy(data, data + items, out + first);
  });
  if (n == idx.dims[0]) check_complete(idx);
  return labels;
}

// Throws when `limit` asks for more items than the file holds.
int64_t checked_count(const IdxFile& idx, int64_t limit, const char* kind) {
  if (limit < 0) throw std::invalid_argument("limit must be >= 0, got " + std::to_string(limit));
  if (limit > idx.dims[0]) {
    throw std::runtime_error("IDX file '" + idx.path + "' holds " + std::to_string(idx.dims[0]) +
                             " " + kind + ", fewer than the " + std::to_string(limit) +
                             " requested");
  }
  return limit > 0 ? limit : idx.dims[0];
}

// `root/base.gz` when it exists, else `root/base`; throws naming both.
std::string resolve(const std::string& root, const std::string& base) {
  const fs::path plain = fs::path(root) / base;
  const fs::path gz = fs::path(root) / (base + ".gz");
  // Whatever is there is taken (and, when not a file, named by open_idx).
  if (path_occupied(gz.string())) return gz.string();
  if (path_occupied(plain.string())) return plain.string();
  throw std::runtime_error("IDX file missing: neither '" + gz.string() + "' nor '" +
                           plain.string() + "' exists");
}

}  // namespace

torch::Tensor read_idx_images(const std::string& path, int64_t limit) {
  IdxFile idx = open_images(path);
  const int64_t n = checked_count(idx, limit, "images");
  return read_images(idx, n, 1).view({n, idx.dims[1], idx.dims[2]});
}

torch::Tensor read_idx_labels(const std::string& path, int64_t limit) {
  IdxFile idx = open_idx(path, kLabelsMagic, "labels");
  return read_labels(idx, checked_count(idx, limit, "labels"));
}

ImageDataset load_idx_dataset(const std::string& name, const std::string& root_arg, Split split,
                              int64_t subset) {
  ImageDataset ds;
  ds.name = name;
  ds.num_classes = kNumClasses;
  if (name == "fashion_mnist") {
    ds.class_names = {"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                      "Sandal",      "Shirt",   "Sneaker",  "Bag",   "Ankle boot"};
  } else if (name == "mnist") {
    ds.class_names = {"0", "1", "2", "3", "4", "5", "6", "7", "8", "9"};
  } else {
    throw std::invalid_argument("load_idx_dataset: unknown dataset '" + name +
                                "', expected mnist or fashion_mnist");
  }
  if (subset < 0) {
    throw std::invalid_argument("subset must be >= 0, got " + std::to_string(subset));
  }
  std::error_code ec;
  if (!fs::is_directory(root_arg, ec)) {
    throw std::runtime_error(name + " data folder '" + root_arg + "' does not exist");
  }
  if (split == Split::kUnlabeled) {
    throw std::invalid_argument(name + " has no unlabeled split (splits: train, test)");
  }
  // `relnet download` puts each in its own folder (root/mnist, root/fashion-mnist).
  const fs::path nested = fs::path(root_arg) / (name == "mnist" ? "mnist" : "fashion-mnist");
  const std::string root = fs::is_directory(nested, ec) ? nested.string() : root_arg;
  const std::string prefix = split == Split::kTrain ? "train" : "t10k";
  IdxFile images = open_images(resolve(root, prefix + "-images-idx3-ubyte"));
  IdxFile labels = open_idx(resolve(root, prefix + "-labels-idx1-ubyte"), kLabelsMagic, "labels");
  const int64_t split_size = images.dims[0];
  if (labels.dims[0] != split_size) {
    throw std::runtime_error("IDX files disagree: '" + images.path + "' holds " +
                             std::to_string(split_size) + " images but '" + labels.path +
                             "' holds " + std::to_string(labels.dims[0]) + " labels");
  }
  if (subset > split_size) {
    throw std::runtime_error("subset " + std::to_string(subset) + " is larger than the " + name +
                             " " + to_string(split) + " split (" + std::to_string(split_size) +
                             " images)");
  }
  const int64_t n = subset > 0 ? subset : split_size;

  ds.labels = read_labels(labels, n);  // (N)
  const auto* label_data = ds.labels.data_ptr<int64_t>();
  for (int64_t i = 0; i < n; ++i) {
    if (label_data[i] >= kNumClasses) {
      throw std::runtime_error("IDX file '" + labels.path + "': label " + std::to_string(i) +
                               " is " + std::to_string(label_data[i]) + ", expected 0..9");
    }
  }
  ds.images = read_images(images, n, 3);  // (N, 3, rows, cols)
  return ds;
}

}  // namespace relnet
