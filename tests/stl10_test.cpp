// Tests of the STL-10 binary reader on small files written here in its
// exact layout: column-major 96 x 96 planes, labels 1..10.
#include "relnet/data/stl10.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <vector>

#include "relnet/data/dataset.h"
#include "test_util.h"

namespace relnet {
namespace {

namespace fs = std::filesystem;
using relnet::testing::error_of;
using relnet::testing::TempDir;

constexpr int64_t kSide = 96;
constexpr int64_t kImage = 3 * kSide * kSide;

// The upright value of image i, channel c, row y, column x: a bright
// vertical bar in the left columns of channel 0 (an asymmetric shape that
// a missing transpose turns into a horizontal bar) plus a gradient.
uint8_t upright(int64_t i, int64_t c, int64_t y, int64_t x) {
  if (c == 0 && x < 8) return 250;
  return static_cast<uint8_t>((i * 3 + c * 50 + y * 2 + (x % 7)) % 200);
}

// n images as STL-10 stores them: per channel, column-major (x outer, y inner).
std::vector<char> stl10_images(int64_t n) {
  std::vector<char> out;
  out.reserve(static_cast<size_t>(n * kImage));
  for (int64_t i = 0; i < n; ++i)
    for (int64_t c = 0; c < 3; ++c)
      for (int64_t x = 0; x < kSide; ++x)
        for (int64_t y = 0; y < kSide; ++y) out.push_back(static_cast<char>(upright(i, c, y, x)));
  return out;
}

void write(const fs::path& path, const std::vector<char>& bytes) {
  std::ofstream out(path, std::ios::binary);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  ASSERT_TRUE(out.good()) << path;
}

std::vector<char> labels(int64_t n) {
  std::vector<char> out;
  for (int64_t i = 0; i < n; ++i) out.push_back(static_cast<char>(1 + i % 10));
  return out;
}

// root/stl10_binary with 12 train, 5 test and 7 unlabeled images.
struct Stl10Files {
  TempDir root{"stl10"};
  fs::path dir = fs::path(root.str()) / "stl10_binary";
  Stl10Files() {
    fs::create_directories(dir);
    write(dir / "train_X.bin", stl10_images(12));
    write(dir / "train_y.bin", labels(12));
    write(dir / "test_X.bin", stl10_images(5));
    write(dir / "test_y.bin", labels(5));
    write(dir / "unlabeled_X.bin", stl10_images(7));
  }
};

TEST(Stl10Test, ImagesComeBackUprightWithLabelsFromZero) {
  Stl10Files files;
  const ImageDataset ds = load_stl10(files.root.str(), Split::kTrain);
  EXPECT_EQ(ds.name, "stl10");
  EXPECT_EQ(ds.num_classes, 10);
  ASSERT_EQ(ds.images.sizes(), (std::vector<int64_t>{12, 3, 96, 96}));
  const auto img = ds.images.accessor<uint8_t, 4>();
  for (int64_t i = 0; i < 12; ++i)
    for (int64_t c = 0; c < 3; ++c)
      for (int64_t y = 0; y < kSide; ++y)
        for (int64_t x = 0; x < kSide; ++x)
          ASSERT_EQ(img[i][c][y][x], upright(i, c, y, x)) << i << " " << c << " " << y << " " << x;
  for (int64_t i = 0; i < 12; ++i) EXPECT_EQ(ds.labels[i].item<int64_t>(), i % 10);
  EXPECT_EQ(ds.class_names[7], "monkey");
}

TEST(Stl10Test, UnlabeledSplitIsTheDefaultForTrainingAndHasNoLabels) {
  Stl10Files files;
  EXPECT_EQ(default_train_split("stl10"), Split::kUnlabeled);
  EXPECT_EQ(default_train_split("cifar10"), Split::kTrain);
  const ImageDataset ds = load_dataset("stl10", files.root.str(), Split::kUnlabeled, 3);
  ASSERT_EQ(ds.size(), 3);
  EXPECT_TRUE(ds.labels.eq(-1).all().item<bool>());
  EXPECT_EQ(ds.images[2][1][5][9].item<uint8_t>(), upright(2, 1, 5, 9));
  EXPECT_EQ(load_dataset("stl10", files.root.str(), Split::kTest).size(), 5);
}

TEST(Stl10Test, ReadsTheFolderItselfOrItsStl10BinarySubfolder) {
  Stl10Files files;
  EXPECT_EQ(load_stl10(files.dir.string(), Split::kTest).size(), 5);
  TempDir empty("stl10_empty");
  EXPECT_EQ(error_of([&] { load_stl10(empty.str(), Split::kTrain); }),
            "STL-10 folder not found: neither '" + empty / "stl10_binary" + "' nor '" +
                empty.str() + "' holds train_X.bin");
}

TEST(Stl10Test, CorruptFilesAreNamedWithWhatIsWrong) {
  Stl10Files files;
  auto images = stl10_images(5);
  images.resize(images.size() - 10);
  write(files.dir / "test_X.bin", images);
  EXPECT_EQ(error_of([&] { load_stl10(files.root.str(), Split::kTest); }),
            "STL-10 file '" + (files.dir / "test_X.bin").string() +
                "' has 138230 bytes, not a whole number of 27648-byte images (3 x 96 x 96)");

  write(files.dir / "test_X.bin", stl10_images(5));
  write(files.dir / "test_y.bin", labels(4));
  EXPECT_EQ(error_of([&] { load_stl10(files.root.str(), Split::kTest); }),
            "STL-10 files disagree: '" + (files.dir / "test_X.bin").string() +
                "' holds 5 images but '" + (files.dir / "test_y.bin").string() +
                "' holds 4 labels");

  auto bad = labels(5);
  bad[3] = 11;
  write(files.dir / "test_y.bin", bad);
  EXPECT_EQ(
      error_of([&] { load_stl10(files.root.str(), Split::kTest); }),
      "STL-10 file '" + (files.dir / "test_y.bin").string() + "': label 3 is 11, expected 1..10");

  fs::remove(files.dir / "train_y.bin");
  EXPECT_EQ(error_of([&] { load_stl10(files.root.str(), Split::kTrain); }),
            "STL-10 file missing: '" + (files.dir / "train_y.bin").string() + "'");
  EXPECT_EQ(error_of([&] { load_stl10(files.root.str(), Split::kUnlabeled, 8); }),
            "subset 8 is larger than the STL-10 unlabeled split (7 images)");
}

}  // namespace
}  // namespace relnet
