// Tests of the image folder reader on generated PNG/JPEG trees: class
// folders, recursion, RGB order, resizing, balanced subsets, broken files,
// empty classes, and tiny-ImageNet's val layout.
#include "relnet/data/image_folder.h"

#ifdef RELNET_WITH_IMAGE_IO

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <opencv2/imgcodecs.hpp>

#include "relnet/data/dataset.h"
#include "test_util.h"

namespace relnet {
namespace {

namespace fs = std::filesystem;
using relnet::testing::error_of;
using relnet::testing::TempDir;

// Writes a side x side image filled with one RGB colour.
void write_image(const fs::path& path, int side, cv::Vec3b rgb, int rows = 0) {
  fs::create_directories(path.parent_path());
  const cv::Mat img(rows > 0 ? rows : side, side, CV_8UC3, cv::Scalar(rgb[2], rgb[1], rgb[0]));
  ASSERT_TRUE(cv::imwrite(path.string(), img)) << path;
}

void write_text(const fs::path& path, const std::string& text) {
  fs::create_directories(path.parent_path());
  std::ofstream(path) << text;
}

// cat: 3 red PNGs (one nested in a sub-folder), dog: 2 green JPEGs of
// another size, zebra: 1 blue PNG; plus a non-image file that must be ignored.
void write_flat_tree(const fs::path& root) {
  for (int i = 0; i < 2; ++i)
    write_image(root / "cat" / ("c" + std::to_string(i) + ".png"), 16, {255, 0, 0});
  write_image(root / "cat" / "more" / "c2.PNG", 16, {255, 0, 0});
  for (int i = 0; i < 2; ++i)
    write_image(root / "dog" / ("d" + std::to_string(i) + ".jpg"), 40, {0, 255, 0}, 30);
  write_image(root / "zebra" / "z0.png", 16, {0, 0, 255});
  write_text(root / "cat" / "notes.txt", "not an image");
}

TEST(ImageFolderTest, ReadsClassFoldersRecursivelyInRgbAtTheRequestedSide) {
  TempDir root("imgdir");
  write_flat_tree(root.str());
  const ImageDataset ds = load_dataset("image_folder", root.str(), Split::kTrain, 0, 16);
  EXPECT_EQ(ds.name, "image_folder");
  EXPECT_EQ(ds.class_names, (std::vector<std::string>{"cat", "dog", "zebra"}));
  EXPECT_EQ(ds.num_classes, 3);
  ASSERT_EQ(ds.images.sizes(), (std::vector<int64_t>{6, 3, 16, 16}));
  const std::vector<int64_t> labels(ds.labels.data_ptr<int64_t>(),
                                    ds.labels.data_ptr<int64_t>() + 6);
  EXPECT_EQ(labels, (std::vector<int64_t>{0, 0, 0, 1, 1, 2}));
  // PNG is lossless: exact colours, red in channel 0.
  EXPECT_TRUE(ds.images[0][0].eq(255).all().item<bool>());
  EXPECT_TRUE(ds.images[0][1].eq(0).all().item<bool>());
  EXPECT_TRUE(ds.images[5][2].eq(255).all().item<bool>());
  EXPECT_TRUE(ds.images[5][0].eq(0).all().item<bool>());
  // The 40x30 JPEGs were resized to 16x16 and stay green (JPEG: near).
  EXPECT_GT(ds.images[3][1].to(torch::kFloat).mean().item<float>(), 240.f);
  EXPECT_LT(ds.images[3][0].to(torch::kFloat).mean().item<float>(), 15.f);
  // Default side for image folders is 64.
  EXPECT_EQ(load_dataset("image_folder", root.str(), Split::kTrain).side(), 64);
}

TEST(ImageFolderTest, SubsetTakesClassesInTurn) {
  TempDir root("imgdir");
  write_flat_tree(root.str());
  const ImageDataset ds = load_image_folder(root.str(), Split::kTrain, 4, 8);
  const std::vector<int64_t> labels(ds.labels.data_ptr<int64_t>(),
                                    ds.labels.data_ptr<int64_t>() + 4);
  EXPECT_EQ(labels, (std::vector<int64_t>{0, 1, 2, 0}));
  EXPECT_EQ(
      error_of([&] { load_image_folder(root.str(), Split::kTrain, 7, 8); }),
      "subset 7 is larger than the image folder train split ('" + root.str() + "', 6 images)");
}

TEST(ImageFolderTest, AnUnreadableFileIsNamed) {
  TempDir root("imgdir");
  write_flat_tree(root.str());
  write_text(fs::path(root.str()) / "dog" / "broken.jpg", "these bytes are no JPEG");
  EXPECT_EQ(error_of([&] { load_image_folder(root.str(), Split::kTrain, 0, 16); }),
            "cannot decode image '" + (fs::path(root.str()) / "dog" / "broken.jpg").string() +
                "' (unreadable, corrupt or not an image)");
}

TEST(ImageFolderTest, AnEmptyClassFolderIsAnError) {
  TempDir root("imgdir");
  write_flat_tree(root.str());
  fs::create_directories(fs::path(root.str()) / "empty_class");
  write_text(fs::path(root.str()) / "empty_class" / "readme.txt", "no images here");
  EXPECT_EQ(error_of([&] { index_image_folder(root.str(), Split::kTrain); }),
            "image folder class 'empty_class' ('" + root / "empty_class" +
                "') holds no images (.bmp .jpeg .jpg .pgm .png .ppm .tif .tiff .webp)");
}

TEST(ImageFolderTest, MissingRootOrTestSplitIsExplained) {
  TempDir root("imgdir");
  write_flat_tree(root.str());
  EXPECT_EQ(error_of([&] { index_image_folder(root / "absent", Split::kTrain); }),
            "image folder root '" + root / "absent" + "' does not exist");
  EXPECT_EQ(error_of([&] { index_image_folder(root.str(), Split::kTest); }),
            "image folder '" + root.str() + "' has no test split: put the training classes in '" +
                root / "train" + "' and the test classes in '" + root / "val" + "' or '" +
                root / "test" + "'");
  EXPECT_EQ(error_of([&] { index_image_folder(root.str(), Split::kUnlabeled); }),
            "image folders have no unlabeled split (splits: train, test)");
}

// tiny-ImageNet: train/<wnid>/images/*.JPEG (+ boxes), val/images + annotations.
void write_tiny_imagenet(const fs::path& root) {
  const std::vector<std::string> wnids = {"n01443537", "n01629819", "n01641577"};
  const std::vector<cv::Vec3b> colours = {{250, 0, 0}, {0, 250, 0}, {0, 0, 250}};
  for (size_t c = 0; c < wnids.size(); ++c) {
    for (int i = 0; i < 3; ++i) {
      write_image(
          root / "train" / wnids[c] / "images" / (wnids[c] + "_" + std::to_string(i) + ".JPEG"), 64,
          colours[c]);
    }
    write_text(root / "train" / wnids[c] / (wnids[c] + "_boxes.txt"), "x\t0\t0\t10\t10\n");
  }
  // val_0 is class 2, val_1 class 0, val_2 class 2, val_3 class 1.
  const std::vector<int> val_class = {2, 0, 2, 1};
  std::string annotations;
  for (size_t i = 0; i < val_class.size(); ++i) {
    const std::string file = "val_" + std::to_string(i) + ".JPEG";
    write_image(root / "val" / "images" / file, 64, colours[static_cast<size_t>(val_class[i])]);
    annotations += file + "\t" + wnids[static_cast<size_t>(val_class[i])] + "\t0\t1\t60\t62\n";
  }
  write_text(root / "val" / "val_annotations.txt", annotations);
}

TEST(ImageFolderTest, TinyImageNetValLayoutIsReadAsIsWithTrainClassIndices) {
  TempDir root("tiny");
  write_tiny_imagenet(root.str());
  const ImageDataset train = load_dataset("image_folder", root.str(), Split::kTrain);
  EXPECT_EQ(train.size(), 9);
  EXPECT_EQ(train.num_classes, 3);
  EXPECT_EQ(train.class_names[1], "n01629819");
  const ImageDataset val = load_dataset("image_folder", root.str(), Split::kTest, 0, 32);
  ASSERT_EQ(val.size(), 4);
  EXPECT_EQ(val.side(), 32);
  // Sorted by class: val_1 (0), val_3 (1), val_0 (2), val_2 (2).
  const std::vector<int64_t> labels(val.labels.data_ptr<int64_t>(),
                                    val.labels.data_ptr<int64_t>() + 4);
  EXPECT_EQ(labels, (std::vector<int64_t>{0, 1, 2, 2}));
  for (int64_t i = 0; i < 4; ++i) {
    const int64_t c = labels[static_cast<size_t>(i)];
    EXPECT_GT(val.images[i][c].to(torch::kFloat).mean().item<float>(), 200.f) << i;
  }
}

TEST(ImageFolderTest, BadAnnotationLinesAreNamed) {
  TempDir root("tiny");
  write_tiny_imagenet(root.str());
  const std::string path = root / "val/val_annotations.txt";
  write_text(path, "val_0.JPEG\tn01443537\t0\t1\t2\t3\nval_1.JPEG\tn99999999\t0\t1\t2\t3\n");
  EXPECT_EQ(error_of([&] { index_image_folder(root.str(), Split::kTest); }),
            "'" + path + "' line 2: class 'n99999999' is not a class of the train split");
  write_text(path, "just-one-field\n");
  EXPECT_EQ(error_of([&] { index_image_folder(root.str(), Split::kTest); }),
            "'" + path + "' line 1: expected '<file><TAB><class>...', got 'just-one-field'");
  // A file name only: an annotation may not point outside val/images.
  for (const std::string file : {"../../secret.png", "/etc/passwd", "sub/x.png", ".."}) {
    write_text(path, "val_0.JPEG\tn01443537\n" + file + "\tn01443537\t0\t1\t2\t3\n");
    EXPECT_EQ(error_of([&] { index_image_folder(root.str(), Split::kTest); }),
              "'" + path + "' line 2: '" + file + "' is not a file name inside '" +
                  (std::filesystem::path(root.str()) / "val" / "images").string() + "'");
  }
}

TEST(ImageFolderTest, TestClassFoldersMustBeTrainClasses) {
  TempDir root("split");
  write_flat_tree(fs::path(root.str()) / "train");
  write_image(fs::path(root.str()) / "test" / "dog" / "t0.png", 16, {0, 255, 0});
  const ImageDataset test = load_image_folder(root.str(), Split::kTest, 0, 16);
  ASSERT_EQ(test.size(), 1);
  EXPECT_EQ(test.labels[0].item<int64_t>(), 1);  // dog is class 1 of train
  write_image(fs::path(root.str()) / "test" / "horse" / "h0.png", 16, {9, 9, 9});
  EXPECT_EQ(error_of([&] { index_image_folder(root.str(), Split::kTest); }),
            "image folder '" + root / "test" +
                "': class folder 'horse' is not a class of the train split");
}

}  // namespace
}  // namespace relnet

#else  // built without image I/O
#include <gtest/gtest.h>
TEST(ImageFolderTest, NeedsImageIo) {
  GTEST_SKIP() << "built without image I/O (RELNET_WITH_IMAGE_IO=OFF)";
}
#endif
