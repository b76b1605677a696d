// Tests of packed datasets: a pack reads back exactly what its source
// holds, backed by the file mapping; training and linear evaluation on a
// pack equal those on the folder bit for bit; NumPy opens the files; every
// damaged pack fails with its own one-line message; an interrupted pack
// leaves nothing that looks finished.
#include "relnet/data/packed.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "relnet/data/dataset.h"
#include "relnet/data/image_folder.h"
#include "relnet/eval/linear_eval.h"
#include "relnet/train/checkpoint.h"
#include "relnet/train/trainer.h"
#include "relnet/util/runtime.h"
#include "test_util.h"

#ifdef RELNET_WITH_IMAGE_IO
#include <opencv2/imgcodecs.hpp>
#endif

namespace relnet {
namespace {

namespace fs = std::filesystem;
using relnet::testing::error_of;
using relnet::testing::TempDir;

// A packed tiny MNIST (train 40, test 20 images of 16 px) in dir/pack.
PackInfo pack_tiny_mnist(const TempDir& dir) {
  fs::create_directories(dir / "mnist");
  relnet::testing::write_tiny_mnist(dir / "mnist", 40, 20);
  PackOptions o;
  o.dataset = "mnist";
  o.root = dir / "mnist";
  o.out = dir / "pack";
  return pack_dataset(o);
}

void expect_same_dataset(const ImageDataset& a, const ImageDataset& b) {
  ASSERT_EQ(a.images.sizes(), b.images.sizes());
  EXPECT_TRUE(a.images.equal(b.images));
  EXPECT_TRUE(a.labels.equal(b.labels));
  EXPECT_EQ(a.num_classes, b.num_classes);
  EXPECT_EQ(a.class_names, b.class_names);
}

void truncate_by(const std::string& path, int64_t bytes) {
  fs::resize_file(path, fs::file_size(path) - static_cast<uintmax_t>(bytes));
}

TEST(PackedTest, PackedMnistReadsBackExactlyFromTheMapping) {
  TempDir dir("pack_mnist");
  const PackInfo info = pack_tiny_mnist(dir);
  EXPECT_EQ(info.side, 16);
  EXPECT_EQ(info.splits.size(), 2u);
  EXPECT_TRUE(is_pack(dir / "pack"));
  for (const Split split : {Split::kTrain, Split::kTest}) {
    const ImageDataset source = load_dataset("mnist", dir / "mnist", split);
    const ImageDataset packed = load_dataset("packed", dir / "pack", split);
    expect_same_dataset(source, packed);
    // No copy: the images tensor points into the file mapping.
    ASSERT_TRUE(packed.mapping);
    const auto* p = static_cast<const uint8_t*>(packed.images.data_ptr());
    EXPECT_GE(p, packed.mapping->data());
    EXPECT_LE(p + packed.images.numel(), packed.mapping->data() + packed.mapping->size());
    // The source's name also opens the pack; subsets keep the first images.
    expect_same_dataset(load_dataset("mnist", dir / "mnist", split, 7),
                        load_dataset("mnist", dir / "pack", split, 7));
  }
  EXPECT_EQ(dataset_normalization("packed", dir / "pack").mean,
            default_normalization("mnist").mean);
  EXPECT_EQ(default_train_split("packed", dir / "pack"), Split::kTrain);
  EXPECT_EQ(
      error_of([&] { load_dataset("cifar10", dir / "pack", Split::kTrain); }),
      "'" + dir / "pack" + "' holds a pack of mnist, not cifar10: use --dataset packed (or mnist)");
}

TEST(PackedTest, NumpyOpensThePackMemoryMapped) {
  TempDir dir("pack_numpy");
  pack_tiny_mnist(dir);
  const std::string cmd =
      "/usr/bin/python3 -c \"import numpy as np, json, zlib, sys; d=sys.argv[1]; "
      "m=json.load(open(d+'/pack.json')); i=np.load(d+'/train_images.npy', mmap_mode='r'); "
      "l=np.load(d+'/train_labels.npy', mmap_mode='r'); "
      "assert i.shape==(40,3,16,16) and i.dtype==np.uint8, i.shape; "
      "assert l.shape==(40,) and l.dtype==np.int64 and list(l[:3])==[0,1,2], l; "
      "assert '%08x' % zlib.crc32(open(d+'/train_images.npy','rb').read()) == "
      "m['splits']['train']['images_crc32']\" " +
      dir / "pack";
  if (std::system("/usr/bin/python3 -c 'import numpy' 2>/dev/null") != 0) {
    GTEST_SKIP() << "/usr/bin/python3 has no numpy";
  }
  EXPECT_EQ(std::system(cmd.c_str()), 0);
}

TEST(PackedTest, DamagedPacksFailWithOneLineNamingTheFile) {
  TempDir dir("pack_damaged");
  pack_tiny_mnist(dir);
  const std::string pack = dir / "pack";
  const std::string prefix = "packed dataset '" + pack + "': ";
  auto load = [&](Split split = Split::kTrain, int64_t side = 0) {
    return error_of([&] { load_dataset("packed", pack, split, 0, side); });
  };
  EXPECT_EQ(load(Split::kUnlabeled), prefix + "has no unlabeled split (splits: train, test)");
  EXPECT_EQ(load(Split::kTrain, 32),
            prefix +
                "holds 16x16 images, and 32x32 are asked for (the checkpoint's side or "
                "data.image_size): pack again with --image-size 32");

  const std::string images = dir / "pack/train_images.npy";
  const auto size = fs::file_size(images);
  truncate_by(images, 100);
  EXPECT_EQ(load(), prefix + "train_images.npy is truncated: " + std::to_string(size - 100) +
                        " bytes, its header (40, 3, 16, 16) needs " + std::to_string(size));
  fs::resize_file(images, size + 5);
  EXPECT_EQ(load(), prefix + "train_images.npy has " + std::to_string(size + 5) +
                        " bytes, 5 more than its header (40, 3, 16, 16) accounts for");
  fs::resize_file(images, size);

  // A labels file of another length: the test split's labels in the train slot.
  fs::copy_file(dir / "pack/test_labels.npy", dir / "pack/train_labels.npy",
                fs::copy_options::overwrite_existing);
  EXPECT_EQ(load(), prefix + "train_labels.npy holds 20 labels for 40 images");
  fs::remove(dir / "pack/train_labels.npy");
  EXPECT_EQ(load(), prefix + "train_labels.npy is missing");
  fs::create_directory(dir / "pack/train_labels.npy");
  EXPECT_EQ(load(), prefix + "train_labels.npy is not a regular file");

  std::ofstream(dir / "pack/pack.json") << "{\"format\": \"relnet-pack\", \"version\": 1";
  EXPECT_EQ(load().rfind(prefix + "pack.json is not valid JSON: ", 0), 0u) << load();
  std::ofstream(dir / "pack/pack.json") << "{\"format\": \"relnet-pack\", \"version\": 7}";
  EXPECT_EQ(load(),
            prefix + "pack version 7 is not one this relnet reads (1): pack the dataset again");
  fs::remove(dir / "pack/pack.json");
  EXPECT_EQ(
      load(),
      prefix + "no pack.json (not a pack, or an interrupted `relnet data pack`: run it again)");
}

TEST(PackedTest, ReportChecksStructureAlwaysAndEveryByteOnDemand) {
  TempDir dir("pack_report");
  pack_tiny_mnist(dir);
  const std::string pack = dir / "pack";
  auto report = pack_report(pack, true);
  EXPECT_TRUE(report["intact"].get<bool>());
  EXPECT_EQ(report["splits"]["train"]["images"], 40);
  EXPECT_EQ(report["splits"]["train"]["per_class"], (std::vector<int64_t>(10, 4)));
  EXPECT_GT(report["bytes_on_disk"].get<uint64_t>(), 60u * 3 * 16 * 16);

  // One flipped pixel: the structure still holds, the CRC-32 does not.
  const std::string images = dir / "pack/test_images.npy";
  {
    std::fstream f(images, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(static_cast<std::streamoff>(fs::file_size(images) - 1));
    f.put('\x7f');
  }
  EXPECT_TRUE(pack_report(pack, false)["intact"].get<bool>());
  report = pack_report(pack, true);
  EXPECT_FALSE(report["intact"].get<bool>());
  const std::string error = report["splits"]["test"]["error"];
  EXPECT_NE(error.find("test_images.npy is damaged: its CRC-32 is "), std::string::npos) << error;
  EXPECT_FALSE(report["splits"]["train"].contains("error"));
}

TEST(PackedTest, PackingRefusesToOverwriteAPackAndAStopLeavesNoManifest) {
  TempDir dir("pack_stop");
  pack_tiny_mnist(dir);
  PackOptions o;
  o.dataset = "mnist";
  o.root = dir / "mnist";
  o.out = dir / "pack";
  EXPECT_EQ(error_of([&] { pack_dataset(o); }),
            "'" + o.out + "' already holds a pack (pack.json): remove it or choose another --out");
  o.out = dir / "stopped";
  request_stop();
  const std::string error = error_of([&] { pack_dataset(o); });
  clear_stop();
  EXPECT_EQ(error, "packing stopped: '" + o.out +
                       "' has no pack.json, so it is not a pack; run the command again to pack it");
  EXPECT_FALSE(is_pack(o.out));
  for (const auto& entry : fs::directory_iterator(o.out)) {
    ADD_FAILURE() << "left behind: " << entry.path();
  }
  o.dataset = "packed";
  o.root = dir / "pack";
  EXPECT_EQ(error_of([&] { pack_dataset(o); }),
            "'" + o.root + "' is already a pack: it needs no packing");
}

#ifdef RELNET_WITH_IMAGE_IO

// root/train/<class>/ and root/test/<class>/ PNGs of the noisy bar pattern:
// `per_class` train and half as many test images per class, 20 px.
void write_bar_folder(const fs::path& root, int64_t per_class) {
  Rng rng(5);
  const int64_t side = 20;
  for (const auto& [split, n] : {std::pair{"train", per_class}, std::pair{"test", per_class / 2}}) {
    for (int64_t i = 0; i < 10 * n; ++i) {
      cv::Mat img(side, side, CV_8UC3);
      for (int64_t y = 0; y < side; ++y)
        for (int64_t x = 0; x < side; ++x) {
          const uint8_t v = relnet::testing::pattern_pixel(i, y, x, side, rng, true);
          img.at<cv::Vec3b>(static_cast<int>(y), static_cast<int>(x)) = {v, uint8_t(v / 2),
                                                                         uint8_t(255 - v)};
        }
      const fs::path path =
          root / split / ("class" + std::to_string(i % 10)) / (std::to_string(i) + ".png");
      fs::create_directories(path.parent_path());
      ASSERT_TRUE(cv::imwrite(path.string(), img));
    }
  }
}

TEST(PackedTest, ImageFolderPackTrainsAndEvaluatesBitForBitLikeTheFolder) {
  TempDir dir("pack_folder");
  write_bar_folder(dir / "folder", 8);
  PackOptions o;
  o.dataset = "image_folder";
  o.root = dir / "folder";
  o.out = dir / "pack";
  o.image_size = 16;
  const PackInfo info = pack_dataset(o);
  ASSERT_EQ(info.splits.size(), 2u);
  for (const Split split : {Split::kTrain, Split::kTest}) {
    expect_same_dataset(load_dataset("image_folder", o.root, split, 0, 16),
                        load_dataset("packed", o.out, split, 0, 16));
    // An image folder's subset is balanced, from the folder or its pack.
    expect_same_dataset(load_dataset("image_folder", o.root, split, 13, 16),
                        load_dataset("packed", o.out, split, 13));
  }

  std::vector<double> accuracies;
  std::vector<torch::Tensor> weights;
  for (const auto& [dataset, root] :
       {std::pair{"image_folder", o.root}, std::pair{"packed", o.out}}) {
    Config c = relnet::testing::tiny_mnist_config(root, dir / dataset);
    c.data.dataset = dataset;
    c.data.image_size = 16;
    c.train.epochs = 2;
    train(c, false);
    LinearEvalOptions opt;
    opt.checkpoint = dir / dataset + "/backbone.pt";
    opt.epochs = 3;
    opt.device = "cpu";
    opt.threads = 1;
    accuracies.push_back(linear_eval(opt).test_accuracy);
    torch::Tensor flat;
    for (const auto& [name, t] : load_checkpoint(opt.checkpoint).backbone) {
      flat = flat.defined() ? torch::cat({flat, t.flatten().to(torch::kFloat64)})
                            : t.flatten().to(torch::kFloat64);
    }
    weights.push_back(flat);
  }
  EXPECT_TRUE(weights[0].equal(weights[1]));
  EXPECT_EQ(accuracies[0], accuracies[1]);
}

#endif  // RELNET_WITH_IMAGE_IO

}  // namespace
}  // namespace relnet
