// Tests of the IDX reader on small gzip and raw files written here with zlib.
#include "relnet/data/idx.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <zlib.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include "relnet/data/dataset.h"
#include "test_util.h"

namespace relnet {
namespace {

using relnet::testing::error_of;

namespace fs = std::filesystem;

constexpr uint32_t kImagesMagic = 0x00000803;
constexpr uint32_t kLabelsMagic = 0x00000801;

// Pixel of image `i` at row `y`, column `x`; `salt` tells files apart.
uint8_t pixel(int64_t i, int64_t y, int64_t x, int64_t salt) {
  return static_cast<uint8_t>((i * 7 + y * 3 + x * 11 + salt) % 256);
}

// IDX bytes: big-endian magic and dims, then `data`.
std::vector<char> idx_bytes(uint32_t magic, const std::vector<uint32_t>& dims,
                            const std::vector<uint8_t>& data) {
  std::vector<char> bytes;
  auto put32 = [&](uint32_t v) {
    for (int shift = 24; shift >= 0; shift -= 8) bytes.push_back(static_cast<char>(v >> shift));
  };
  put32(magic);
  for (uint32_t d : dims) put32(d);
  bytes.insert(bytes.end(), data.begin(), data.end());
  return bytes;
}

// (n, rows, cols) pixels of pixel(), row-major.
std::vector<uint8_t> image_data(int64_t n, int64_t rows, int64_t cols, int64_t salt) {
  std::vector<uint8_t> data;
  for (int64_t i = 0; i < n; ++i)
    for (int64_t y = 0; y < rows; ++y)
      for (int64_t x = 0; x < cols; ++x) data.push_back(pixel(i, y, x, salt));
  return data;
}

std::vector<uint8_t> label_data(int64_t n) {
  std::vector<uint8_t> data;
  for (int64_t i = 0; i < n; ++i) data.push_back(static_cast<uint8_t>((i * 3) % 10));
  return data;
}

void write_gz(const fs::path& path, const std::vector<char>& bytes) {
  gzFile file = gzopen(path.string().c_str(), "wb");
  ASSERT_NE(file, nullptr) << path;
  EXPECT_EQ(gzwrite(file, bytes.data(), static_cast<unsigned>(bytes.size())),
            static_cast<int>(bytes.size()));
  EXPECT_EQ(gzclose(file), Z_OK);
}

void write_raw(const fs::path& path, const std::vector<char>& bytes) {
  std::ofstream out(path, std::ios::binary);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  ASSERT_TRUE(out.good()) << path;
}

// Expected (n, 3, rows, cols) uint8 and (n) int64 for the files written by
// write_split().
torch::Tensor expected_images(int64_t n, int64_t rows, int64_t cols, int64_t salt) {
  auto data = image_data(n, rows, cols, salt);
  return torch::from_blob(data.data(), {n, 1, rows, cols}, torch::kUInt8)
      .expand({n, 3, rows, cols})
      .clone();
}

torch::Tensor expected_labels(int64_t n) { return torch::arange(n, torch::kInt64) * 3 % 10; }

class IdxTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ =
        fs::temp_directory_path() / ("relnet_idx_test_" + std::to_string(std::random_device{}()));
    fs::create_directories(dir_);
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  // Writes `prefix`-images/labels files with n images of rows x cols.
  void write_split(const std::string& prefix, int64_t n, int64_t rows, int64_t cols, bool gz,
                   int64_t salt = 0) {
    const auto images = idx_bytes(
        kImagesMagic,
        {static_cast<uint32_t>(n), static_cast<uint32_t>(rows), static_cast<uint32_t>(cols)},
        image_data(n, rows, cols, salt));
    const auto labels = idx_bytes(kLabelsMagic, {static_cast<uint32_t>(n)}, label_data(n));
    const std::string suffix = gz ? ".gz" : "";
    auto write = gz ? write_gz : write_raw;
    write(dir_ / (prefix + "-images-idx3-ubyte" + suffix), images);
    write(dir_ / (prefix + "-labels-idx1-ubyte" + suffix), labels);
  }

  std::string path(const std::string& name) const { return (dir_ / name).string(); }
  std::string root() const { return dir_.string(); }

  fs::path dir_;
};

TEST_F(IdxTest, ReadsGzipSplitAsThreeIdenticalChannels) {
  write_split("train", 25, 28, 28, /*gz=*/true);
  const ImageDataset ds = load_idx_dataset("fashion_mnist", root(), Split::kTrain);
  EXPECT_EQ(ds.name, "fashion_mnist");
  EXPECT_EQ(ds.num_classes, 10);
  ASSERT_EQ(ds.class_names.size(), 10u);
  EXPECT_EQ(ds.class_names[0], "T-shirt/top");
  EXPECT_EQ(ds.class_names[9], "Ankle boot");
  ASSERT_EQ(ds.images.sizes(), (std::vector<int64_t>{25, 3, 28, 28}));
  EXPECT_EQ(ds.images.dtype(), torch::kUInt8);
  EXPECT_TRUE(ds.images.is_contiguous());
  EXPECT_EQ(ds.labels.dtype(), torch::kInt64);
  EXPECT_EQ(ds.images[13][2][5][21].item<int64_t>(), pixel(13, 5, 21, 0));
  EXPECT_TRUE(torch::equal(ds.images[7][0], ds.images[7][1]));
  EXPECT_TRUE(torch::equal(ds.images[7][0], ds.images[7][2]));
  EXPECT_TRUE(torch::equal(ds.images, expected_images(25, 28, 28, 0)));
  EXPECT_TRUE(torch::equal(ds.labels, expected_labels(25)));
}

TEST_F(IdxTest, ReadsRawFilesWithRowMajorNonSquareImages) {
  write_split("t10k", 6, 4, 5, /*gz=*/false);
  const ImageDataset ds = load_idx_dataset("mnist", root(), Split::kTest);
  EXPECT_EQ(ds.name, "mnist");
  ASSERT_EQ(ds.class_names.size(), 10u);
  EXPECT_EQ(ds.class_names[3], "3");
  ASSERT_EQ(ds.images.sizes(), (std::vector<int64_t>{6, 3, 4, 5}));
  EXPECT_EQ(ds.images[5][1][3][4].item<int64_t>(), pixel(5, 3, 4, 0));
  EXPECT_TRUE(torch::equal(ds.images, expected_images(6, 4, 5, 0)));
  EXPECT_TRUE(torch::equal(ds.labels, expected_labels(6)));
}

TEST_F(IdxTest, PrefersGzWhenBothNamesExist) {
  write_split("train", 4, 3, 3, /*gz=*/false, /*salt=*/1);
  write_split("train", 4, 3, 3, /*gz=*/true, /*salt=*/2);
  const ImageDataset ds = load_idx_dataset("mnist", root(), Split::kTrain);
  EXPECT_TRUE(torch::equal(ds.images, expected_images(4, 3, 3, 2)));
}

TEST_F(IdxTest, SubsetReadsOnlyTheFirstImages) {
  // The header announces 25 images but only 10 are present: a subset of 7
  // never reaches the missing bytes.
  write_gz(dir_ / "train-images-idx3-ubyte.gz",
           idx_bytes(kImagesMagic, {25, 28, 28}, image_data(10, 28, 28, 0)));
  write_gz(dir_ / "train-labels-idx1-ubyte.gz", idx_bytes(kLabelsMagic, {25}, label_data(25)));
  const ImageDataset ds = load_idx_dataset("fashion_mnist", root(), Split::kTrain, 7);
  ASSERT_EQ(ds.images.sizes(), (std::vector<int64_t>{7, 3, 28, 28}));
  EXPECT_TRUE(torch::equal(ds.images, expected_images(7, 28, 28, 0)));
  EXPECT_TRUE(torch::equal(ds.labels, expected_labels(7)));
}

TEST_F(IdxTest, ReadsImageAndLabelFilesDirectlyWithLimit) {
  write_split("train", 12, 6, 6, /*gz=*/true);
  const torch::Tensor images = read_idx_images(path("train-images-idx3-ubyte.gz"), 5);
  ASSERT_EQ(images.sizes(), (std::vector<int64_t>{5, 6, 6}));
  EXPECT_EQ(images[4][2][1].item<int64_t>(), pixel(4, 2, 1, 0));
  const torch::Tensor labels = read_idx_labels(path("train-labels-idx1-ubyte.gz"));
  EXPECT_TRUE(torch::equal(labels, expected_labels(12)));
  EXPECT_EQ(error_of([&] { read_idx_labels(path("train-labels-idx1-ubyte.gz"), 13); }),
            "IDX file '" + path("train-labels-idx1-ubyte.gz") +
                "' holds 12 labels, fewer than the 13 requested");
}

TEST_F(IdxTest, RejectsBadMagic) {
  // A label file where the image file should be.
  write_gz(dir_ / "train-images-idx3-ubyte.gz", idx_bytes(kLabelsMagic, {3}, label_data(3)));
  write_gz(dir_ / "train-labels-idx1-ubyte.gz", idx_bytes(kLabelsMagic, {3}, label_data(3)));
  const std::string expected = "IDX file '" + path("train-images-idx3-ubyte.gz") +
                               "' has magic 0x00000801, expected 0x00000803 (images)";
  EXPECT_EQ(error_of([&] { read_idx_images(path("train-images-idx3-ubyte.gz")); }), expected);
  EXPECT_EQ(error_of([&] { load_idx_dataset("mnist", root(), Split::kTrain); }), expected);
  write_raw(dir_ / "labels-raw", idx_bytes(0x12345678, {3}, label_data(3)));
  EXPECT_EQ(
      error_of([&] { read_idx_labels(path("labels-raw")); }),
      "IDX file '" + path("labels-raw") + "' has magic 0x12345678, expected 0x00000801 (labels)");
}

TEST_F(IdxTest, RejectsTruncatedData) {
  write_gz(dir_ / "train-images-idx3-ubyte.gz",
           idx_bytes(kImagesMagic, {25, 28, 28}, image_data(10, 28, 28, 0)));
  write_gz(dir_ / "train-labels-idx1-ubyte.gz", idx_bytes(kLabelsMagic, {25}, label_data(25)));
  EXPECT_EQ(error_of([&] { load_idx_dataset("fashion_mnist", root(), Split::kTrain); }),
            "IDX file '" + path("train-images-idx3-ubyte.gz") +
                "' is truncated: expected 19600 bytes of data, found 7840");
  write_raw(dir_ / "short-labels", idx_bytes(kLabelsMagic, {5}, label_data(4)));
  EXPECT_EQ(
      error_of([&] { read_idx_labels(path("short-labels")); }),
      "IDX file '" + path("short-labels") + "' is truncated: expected 5 bytes of data, found 4");
  write_raw(dir_ / "short-header", {0, 0, 8, 3, 0, 0});
  EXPECT_EQ(
      error_of([&] { read_idx_images(path("short-header")); }),
      "IDX file '" + path("short-header") + "' is truncated: expected 16 bytes of header, found 6");
}

// Every image and label is there but the gzip trailer (CRC-32, length) is
// cut: the file is truncated, not intact.
TEST_F(IdxTest, RejectsAGzipStreamWithoutItsTrailer) {
  write_split("train", 5, 4, 4, /*gz=*/true);
  const std::string images = path("train-images-idx3-ubyte.gz");
  fs::resize_file(images, fs::file_size(images) - 8);
  EXPECT_EQ(error_of([&] { load_idx_dataset("mnist", root(), Split::kTrain); }),
            "IDX file '" + images +
                "' is truncated: the gzip stream ends before its trailer (CRC-32 and length)");
  EXPECT_NO_THROW(read_idx_images(images, 3)) << "a subset does not read to the end";
}

// A directory, a FIFO or a symbolic link loop in a data file's place is
// named as such, not as missing.
TEST_F(IdxTest, NamesWhatStandsWhereAFileShouldBe) {
  const std::string images = path("train-images-idx3-ubyte.gz");
  write_split("train", 5, 4, 4, /*gz=*/true);
  fs::remove(images);
  fs::create_directories(images);
  EXPECT_EQ(error_of([&] { load_idx_dataset("mnist", root(), Split::kTrain); }),
            "IDX file '" + images + "' is a directory");
  fs::remove(images);
  ASSERT_EQ(::mkfifo(images.c_str(), 0600), 0);
  EXPECT_EQ(error_of([&] { load_idx_dataset("mnist", root(), Split::kTrain); }),
            "IDX file '" + images + "' is a FIFO (named pipe)");
  fs::remove(images);
  fs::create_symlink(images, images);
  EXPECT_EQ(error_of([&] { load_idx_dataset("mnist", root(), Split::kTrain); }),
            "IDX file '" + images + "' is a symbolic link loop");
}

TEST_F(IdxTest, RejectsAbsurdHeaderAsTruncatedWithoutAllocating) {
  // 4e9 images of 28x28 would need 3 TB; the files hold 10 images.
  const auto bytes = idx_bytes(kImagesMagic, {4000000000u, 28, 28}, image_data(10, 28, 28, 0));
  write_gz(dir_ / "huge.gz", bytes);
  write_raw(dir_ / "huge", bytes);
  for (const std::string name : {"huge.gz", "huge"}) {
    EXPECT_EQ(error_of([&] { read_idx_images(path(name)); }),
              "IDX file '" + path(name) +
                  "' is truncated: expected 3136000000000 bytes of data, found 7840")
        << name;
  }
}

TEST_F(IdxTest, RejectsImageLabelCountMismatch) {
  write_gz(dir_ / "t10k-images-idx3-ubyte.gz",
           idx_bytes(kImagesMagic, {10, 2, 2}, image_data(10, 2, 2, 0)));
  write_gz(dir_ / "t10k-labels-idx1-ubyte.gz", idx_bytes(kLabelsMagic, {9}, label_data(9)));
  EXPECT_EQ(error_of([&] { load_idx_dataset("mnist", root(), Split::kTest); }),
            "IDX files disagree: '" + path("t10k-images-idx3-ubyte.gz") +
                "' holds 10 images but '" + path("t10k-labels-idx1-ubyte.gz") + "' holds 9 labels");
}

TEST_F(IdxTest, RejectsLabelOutOfRange) {
  write_split("train", 5, 2, 2, /*gz=*/true);
  auto labels = label_data(5);
  labels[2] = 10;
  write_gz(dir_ / "train-labels-idx1-ubyte.gz", idx_bytes(kLabelsMagic, {5}, labels));
  EXPECT_EQ(error_of([&] { load_idx_dataset("mnist", root(), Split::kTrain); }),
            "IDX file '" + path("train-labels-idx1-ubyte.gz") + "': label 2 is 10, expected 0..9");
}

TEST_F(IdxTest, RejectsSubsetLargerThanSplit) {
  write_split("t10k", 5, 2, 2, /*gz=*/true);
  EXPECT_EQ(error_of([&] { load_idx_dataset("fashion_mnist", root(), Split::kTest, 6); }),
            "subset 6 is larger than the fashion_mnist test split (5 images)");
}

TEST_F(IdxTest, RejectsMissingFolderAndFiles) {
  const std::string absent = path("absent");
  EXPECT_EQ(error_of([&] { load_idx_dataset("mnist", absent, Split::kTrain); }),
            "mnist data folder '" + absent + "' does not exist");
  EXPECT_EQ(error_of([&] { load_idx_dataset("mnist", root(), Split::kTrain); }),
            "IDX file missing: neither '" + path("train-images-idx3-ubyte.gz") + "' nor '" +
                path("train-images-idx3-ubyte") + "' exists");
  EXPECT_EQ(error_of([&] { read_idx_images(path("nothing.gz")); }),
            "IDX file missing: '" + path("nothing.gz") + "'");
}

TEST_F(IdxTest, LoadDatasetDispatchesToIdxReader) {
  write_split("train", 3, 2, 2, /*gz=*/true);
  const ImageDataset ds = load_dataset("fashion_mnist", root(), Split::kTrain);
  EXPECT_EQ(ds.name, "fashion_mnist");
  EXPECT_EQ(ds.size(), 3);
  EXPECT_THROW(load_idx_dataset("cifar10", root(), Split::kTrain), std::invalid_argument);
}

}  // namespace
}  // namespace relnet
