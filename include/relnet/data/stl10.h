// STL-10 binary reader (stl10_binary/): train_X.bin + train_y.bin (5,000
// labelled images), test_X.bin + test_y.bin (8,000), unlabeled_X.bin
// (100,000, no labels). Each image is 3 x 96 x 96 uint8, every 96 x 96 plane
// stored column-major (the reader transposes it back to row-major); labels
// are one byte each, 1..10 on disk, 0..9 in memory.
#pragma once

#include <cstdint>
#include <string>

#include "relnet/data/dataset.h"

namespace relnet {

// Resolves the STL-10 folder: `root/stl10_binary` or `root` itself when it
// holds train_X.bin. Throws std::runtime_error naming both otherwise.
std::string stl10_dir(const std::string& root);

// Reads a split; `subset` > 0 reads only the first `subset` images. Images
// (N, 3, 96, 96) uint8 upright; labels int64 0..9, or -1 for kUnlabeled.
// Errors name the file: missing, a size that is not a whole number of
// 27,648-byte images, image and label counts that differ, a label outside
// 1..10, a `subset` above the split's size.
ImageDataset load_stl10(const std::string& root, Split split, int64_t subset = 0);

}  // namespace relnet
