// Tests of the CIFAR-10 binary reader on full-size batch files written here
// with known label and pixel patterns, and of the dataset registry dispatch.
#include "relnet/data/cifar.h"

#include <gtest/gtest.h>

#include <cstring>
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

constexpr int64_t kRecords = 10000;
constexpr int64_t kImageBytes = 3072;
constexpr int64_t kRecordBytes = 1 + kImageBytes;

// Pixel byte of global image `i`, channel `c`, row `y`, column `x`; `salt`
// tells the splits apart. Every argument changes the value differently, so
// swapped axes or misplaced records show up.
uint8_t pixel(int64_t i, int64_t c, int64_t y, int64_t x, int64_t salt) {
  return static_cast<uint8_t>((i * 31 + c * 101 + y * 13 + x + salt) % 256);
}

// Pixels of images 0..255 of a split: (256, 3, 32, 32) as pixel() gives
// them. Image i equals image i % 256, since i enters pixel() as i * 31 mod 256.
std::vector<uint8_t> pattern_table(int64_t salt) {
  std::vector<uint8_t> table(256 * kImageBytes);
  for (int64_t i = 0; i < 256; ++i)
    for (int64_t c = 0; c < 3; ++c)
      for (int64_t y = 0; y < 32; ++y)
        for (int64_t x = 0; x < 32; ++x)
          table[i * kImageBytes + c * 1024 + y * 32 + x] = pixel(i, c, y, x, salt);
  return table;
}

// Index of the first image of `images` (N, 3, 32, 32) that differs from
// pixel(), or -1 when all match.
int64_t first_mismatch(const torch::Tensor& images, int64_t salt) {
  const auto table = pattern_table(salt);
  const auto* data = images.contiguous().data_ptr<uint8_t>();
  for (int64_t i = 0; i < images.size(0); ++i) {
    if (std::memcmp(data + i * kImageBytes, table.data() + (i % 256) * kImageBytes, kImageBytes) !=
        0) {
      return i;
    }
  }
  return -1;
}

// Label of global image `i`.
uint8_t label(int64_t i, int64_t salt) { return static_cast<uint8_t>((i + salt) % 10); }

// Batch file `file_index` of a split: records i = file_index * 10000 + r.
std::vector<char> batch_bytes(int64_t file_index, int64_t salt) {
  const auto table = pattern_table(salt);
  std::vector<char> bytes(kRecords * kRecordBytes);
  for (int64_t r = 0; r < kRecords; ++r) {
    const int64_t i = file_index * kRecords + r;
    char* record = bytes.data() + r * kRecordBytes;
    record[0] = static_cast<char>(label(i, salt));
    std::memcpy(record + 1, table.data() + (i % 256) * kImageBytes, kImageBytes);
  }
  return bytes;
}

void write_file(const fs::path& path, const std::vector<char>& bytes, size_t size) {
  std::ofstream out(path, std::ios::binary);
  out.write(bytes.data(), static_cast<std::streamsize>(size));
  ASSERT_TRUE(out.good()) << path;
}

void write_file(const fs::path& path, const std::vector<char>& bytes) {
  write_file(path, bytes, bytes.size());
}

constexpr int64_t kTrainSalt = 0;
constexpr int64_t kTestSalt = 7;

// One temp root per suite: root/cifar-10-batches-bin holds all six full-size
// batch files; other folders hold altered copies for the error tests.
class CifarTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    root_ = new fs::path(fs::temp_directory_path() /
                         ("relnet_cifar_test_" + std::to_string(std::random_device{}())));
    const fs::path dir = *root_ / "full" / "cifar-10-batches-bin";
    fs::create_directories(dir);
    for (int f = 0; f < 5; ++f) {
      const auto bytes = batch_bytes(f, kTrainSalt);
      write_file(dir / ("data_batch_" + std::to_string(f + 1) + ".bin"), bytes);
      if (f == 0) {
        // Only data_batch_1.bin, directly in the root (no subfolder).
        fs::create_directories(*root_ / "only_first");
        write_file(*root_ / "only_first" / "data_batch_1.bin", bytes);
      }
    }
    write_file(dir / "test_batch.bin", batch_bytes(0, kTestSalt));
  }

  static void TearDownTestSuite() {
    std::error_code ec;
    fs::remove_all(*root_, ec);
    delete root_;
    root_ = nullptr;
  }

  // A fresh empty folder under the suite's root.
  static fs::path make_dir(const std::string& name) {
    const fs::path dir = *root_ / name;
    fs::create_directories(dir);
    return dir;
  }

  static std::string full_root() { return (*root_ / "full").string(); }
  static std::string batches_dir() { return (*root_ / "full" / "cifar-10-batches-bin").string(); }

  static fs::path* root_;
};

fs::path* CifarTest::root_ = nullptr;

TEST_F(CifarTest, LoadsFullTrainSplitWithLabelsAndChwPixels) {
  const ImageDataset ds = load_cifar10(full_root(), Split::kTrain);

  EXPECT_EQ(ds.name, "cifar10");
  EXPECT_EQ(ds.num_classes, 10);
  ASSERT_EQ(ds.class_names.size(), 10u);
  EXPECT_EQ(ds.class_names[0], "airplane");
  EXPECT_EQ(ds.class_names[9], "truck");
  ASSERT_EQ(ds.images.sizes(), (std::vector<int64_t>{50000, 3, 32, 32}));
  EXPECT_EQ(ds.images.dtype(), torch::kUInt8);
  EXPECT_TRUE(ds.images.is_contiguous());
  ASSERT_EQ(ds.labels.sizes(), (std::vector<int64_t>{50000}));
  EXPECT_EQ(ds.labels.dtype(), torch::kInt64);
  EXPECT_EQ(ds.size(), 50000);
  EXPECT_EQ(ds.side(), 32);

  // One pixel by hand: image 12345 (file 2, record 2345), blue plane, row 7, column 19.
  // (12345 * 31 + 2 * 101 + 7 * 13 + 19) % 256 = 31.
  EXPECT_EQ(ds.images[12345][2][7][19].item<int64_t>(), 31);
  // Last image, red plane, bottom-left pixel: (49999 * 31 + 31 * 13) % 256 = 36.
  EXPECT_EQ(ds.images[49999][0][31][0].item<int64_t>(), 36);
  EXPECT_EQ(ds.labels[12345].item<int64_t>(), 5);
  EXPECT_EQ(first_mismatch(ds.images, kTrainSalt), -1);
  EXPECT_TRUE(torch::equal(ds.labels, torch::arange(50000, torch::kInt64) % 10));
}

TEST_F(CifarTest, LoadsTestSplitFromTestBatch) {
  const ImageDataset ds = load_cifar10(full_root(), Split::kTest);
  ASSERT_EQ(ds.size(), 10000);
  EXPECT_EQ(first_mismatch(ds.images, kTestSalt), -1);
  EXPECT_TRUE(torch::equal(ds.labels, (torch::arange(10000, torch::kInt64) + kTestSalt) % 10));
}

TEST_F(CifarTest, SubsetSpanningTwoFilesKeepsTheFirstImages) {
  const ImageDataset ds = load_cifar10(full_root(), Split::kTrain, 10005);
  ASSERT_EQ(ds.images.sizes(), (std::vector<int64_t>{10005, 3, 32, 32}));
  EXPECT_EQ(first_mismatch(ds.images, kTrainSalt), -1);
  EXPECT_TRUE(torch::equal(ds.labels, torch::arange(10005, torch::kInt64) % 10));
}

TEST_F(CifarTest, SubsetReadsOnlyTheFilesItNeeds) {
  // Only data_batch_1.bin exists (directly in the root): a subset within it loads.
  const std::string root = (*root_ / "only_first").string();
  const ImageDataset ds = load_cifar10(root, Split::kTrain, 10000);
  EXPECT_EQ(ds.size(), 10000);
  EXPECT_EQ(first_mismatch(ds.images, kTrainSalt), -1);
  EXPECT_EQ(error_of([&] { load_cifar10(root, Split::kTrain, 10001); }),
            "CIFAR-10 file missing: '" + (fs::path(root) / "data_batch_2.bin").string() + "'");
}

TEST_F(CifarTest, ResolvesSubfolderOrRootItself) {
  EXPECT_EQ(cifar10_dir(full_root()), batches_dir());
  EXPECT_EQ(cifar10_dir(batches_dir()), batches_dir());
  const std::string only_first = (*root_ / "only_first").string();
  EXPECT_EQ(cifar10_dir(only_first), only_first);
  EXPECT_EQ(load_cifar10(batches_dir(), Split::kTest, 3).size(), 3);
}

TEST_F(CifarTest, RejectsMissingFolder) {
  const std::string empty = make_dir("empty").string();
  EXPECT_EQ(error_of([&] { load_cifar10(empty, Split::kTrain); }),
            "CIFAR-10 folder not found: neither '" +
                (fs::path(empty) / "cifar-10-batches-bin").string() + "' nor '" + empty +
                "' holds data_batch_1.bin");
  const std::string absent = (*root_ / "absent").string();
  EXPECT_EQ(error_of([&] { load_cifar10(absent, Split::kTrain); }),
            "CIFAR-10 data root '" + absent + "' does not exist");
}

TEST_F(CifarTest, RejectsMissingFile) {
  const std::string root = (*root_ / "only_first").string();
  EXPECT_EQ(error_of([&] { load_cifar10(root, Split::kTest); }),
            "CIFAR-10 file missing: '" + (fs::path(root) / "test_batch.bin").string() + "'");
  EXPECT_THROW(load_cifar10(root, Split::kTrain), std::runtime_error);
}

TEST_F(CifarTest, RejectsTruncatedBatchFile) {
  const fs::path dir = make_dir("truncated");
  const fs::path path = dir / "data_batch_1.bin";
  write_file(path, batch_bytes(0, kTrainSalt), kRecords * kRecordBytes - 1);
  const std::string expected = "CIFAR-10 file '" + path.string() +
                               "' has 30729999 bytes, expected 30730000 (10000 records of "
                               "3073 bytes)";
  EXPECT_EQ(error_of([&] { load_cifar10(dir.string(), Split::kTrain); }), expected);
  // The size is checked even when the subset needs only the first record.
  EXPECT_EQ(error_of([&] { load_cifar10(dir.string(), Split::kTrain, 1); }), expected);
}

TEST_F(CifarTest, RejectsBadLabelByte) {
  const fs::path dir = make_dir("bad_label");
  const fs::path path = dir / "data_batch_1.bin";
  auto bytes = batch_bytes(0, kTrainSalt);
  bytes[3 * kRecordBytes] = 10;
  write_file(path, bytes);
  EXPECT_EQ(error_of([&] { load_cifar10(dir.string(), Split::kTrain, 5); }),
            "CIFAR-10 file '" + path.string() + "': record 3 has label 10, expected 0..9");
  // A subset that stops before the bad record does not see it.
  EXPECT_EQ(load_cifar10(dir.string(), Split::kTrain, 3).size(), 3);
}

TEST_F(CifarTest, RejectsSubsetLargerThanSplit) {
  EXPECT_EQ(error_of([&] { load_cifar10(full_root(), Split::kTest, 10001); }),
            "subset 10001 is larger than the CIFAR-10 test split (10000 images)");
  EXPECT_EQ(error_of([&] { load_cifar10(full_root(), Split::kTrain, 50001); }),
            "subset 50001 is larger than the CIFAR-10 train split (50000 images)");
}

TEST_F(CifarTest, LoadDatasetDispatchesByName) {
  const ImageDataset ds = load_dataset("cifar10", full_root(), Split::kTest, 4);
  EXPECT_EQ(ds.name, "cifar10");
  EXPECT_EQ(ds.size(), 4);
  EXPECT_EQ(first_mismatch(ds.images, kTestSalt), -1);
}

TEST_F(CifarTest, Cifar10HasNoUnlabeledSplit) {
  EXPECT_EQ(error_of([&] { load_cifar10(full_root(), Split::kUnlabeled); }),
            "CIFAR-10 has no unlabeled split (splits: train, test)");
}

// CIFAR-100: records of coarse byte, fine byte, 3,072 pixels. Record i has
// fine label (i * 7 + 3) % 100 and coarse label i % 20, so the two label
// bytes disagree and a reader taking the wrong one fails.
std::vector<char> cifar100_bytes(int64_t records, int64_t salt) {
  const auto table = pattern_table(salt);
  constexpr int64_t kRecord100 = 2 + kImageBytes;
  std::vector<char> bytes(records * kRecord100);
  for (int64_t i = 0; i < records; ++i) {
    char* record = bytes.data() + i * kRecord100;
    record[0] = static_cast<char>(i % 20);
    record[1] = static_cast<char>((i * 7 + 3) % 100);
    std::memcpy(record + 2, table.data() + (i % 256) * kImageBytes, kImageBytes);
  }
  return bytes;
}

TEST_F(CifarTest, Cifar100ReadsFineOrCoarseLabels) {
  const fs::path dir = make_dir("c100") / "cifar-100-binary";
  fs::create_directories(dir);
  write_file(dir / "test.bin", cifar100_bytes(10000, kTestSalt));
  const std::string root = (*root_ / "c100").string();

  const ImageDataset fine = load_cifar100(root, Split::kTest);
  EXPECT_EQ(fine.name, "cifar100");
  EXPECT_EQ(fine.num_classes, 100);
  ASSERT_EQ(fine.class_names.size(), 100u);
  EXPECT_EQ(fine.class_names[0], "apple");
  EXPECT_EQ(fine.class_names[99], "worm");
  ASSERT_EQ(fine.images.sizes(), (std::vector<int64_t>{10000, 3, 32, 32}));
  EXPECT_EQ(first_mismatch(fine.images, kTestSalt), -1);
  const ImageDataset coarse = load_dataset("supercifar100", root, Split::kTest, 300);
  EXPECT_EQ(coarse.name, "supercifar100");
  EXPECT_EQ(coarse.num_classes, 20);
  ASSERT_EQ(coarse.class_names.size(), 20u);
  EXPECT_EQ(coarse.class_names[19], "vehicles_2");
  EXPECT_EQ(first_mismatch(coarse.images, kTestSalt), -1);
  for (int64_t i = 0; i < 300; ++i) {
    ASSERT_EQ(fine.labels[i].item<int64_t>(), (i * 7 + 3) % 100) << i;
    ASSERT_EQ(coarse.labels[i].item<int64_t>(), i % 20) << i;
  }
}

TEST_F(CifarTest, Cifar100RejectsTruncatedFilesAndBadLabels) {
  const fs::path dir = make_dir("c100_bad");
  auto bytes = cifar100_bytes(10000, kTestSalt);
  write_file(dir / "train.bin", bytes);  // a train.bin must hold 50,000 records
  write_file(dir / "test.bin", bytes, bytes.size() - 100);
  EXPECT_EQ(error_of([&] { load_cifar100(dir.string(), Split::kTrain); }),
            "CIFAR-100 file '" + (dir / "train.bin").string() +
                "' has 30740000 bytes, expected 153700000 (50000 records of 3074 bytes)");
  EXPECT_EQ(error_of([&] { load_cifar100(dir.string(), Split::kTest); }),
            "CIFAR-100 file '" + (dir / "test.bin").string() +
                "' has 30739900 bytes, expected 30740000 (10000 records of 3074 bytes)");
  bytes[5 * (2 + kImageBytes) + 1] = static_cast<char>(100);  // fine label of record 5
  write_file(dir / "test.bin", bytes);
  EXPECT_EQ(error_of([&] { load_cifar100(dir.string(), Split::kTest); }),
            "CIFAR-100 file '" + (dir / "test.bin").string() +
                "': record 5 has label 100, expected 0..99");
  // The coarse byte of record 5 is fine: supercifar100 reads it.
  EXPECT_EQ(load_cifar100(dir.string(), Split::kTest, 10, true).size(), 10);
  EXPECT_EQ(error_of([&] { load_cifar100((*root_ / "absent").string(), Split::kTest); }),
            "CIFAR-100 data root '" + (*root_ / "absent").string() + "' does not exist");
}

}  // namespace
}  // namespace relnet
