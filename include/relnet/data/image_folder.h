// Image folders: your own images, tiny-ImageNet and SlimageNet64.
//
// Layouts (class = sub-folder name, classes sorted by name, images found
// recursively inside each class folder, extensions .png .jpg .jpeg .bmp .ppm
// .pgm .tif .tiff .webp in any case):
//   root/<class>/<image>                  a single (train) split
//   root/train/<class>/...                train split, and for the test split
//   root/val/<class>/... or root/test/<class>/...
//   root/val/images/ + root/val/val_annotations.txt   tiny-ImageNet's val
//                                         layout (file, class id, box per line)
// The test split takes its class indices from the train split's folders, so
// labels agree between splits. Images are decoded with OpenCV on all cores,
// converted to RGB and resized to side x side.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "relnet/data/dataset.h"

namespace relnet {

// One image file and its class index.
struct ImageFile {
  std::string path;
  int64_t label = 0;
};

// The files and classes of a split, without decoding anything.
struct ImageFolderIndex {
  std::string dir;  // the folder the split was read from
  std::vector<std::string> class_names;
  std::vector<ImageFile> files;  // sorted by class, then path
};

// Lists a split. Throws std::runtime_error naming the folder or file when the
// root or split folder is missing, a class folder holds no images, or an
// annotation line is malformed or names an unknown class.
ImageFolderIndex index_image_folder(const std::string& root, Split split);

// The positions of the first `n` items taken class by class in turn (item 0
// of every class, then item 1, ...), given each item's class in
// [0, num_classes) in order (other labels are skipped), so a subset keeps the
// classes balanced. Image folders and their packs both pick subsets this way.
std::vector<int64_t> balanced_rows(const std::vector<int64_t>& labels, int64_t num_classes,
                                   int64_t n);

// The files balanced_rows picks from a split.
std::vector<ImageFile> balanced_subset(const ImageFolderIndex& index, int64_t n);

// Called from the loading thread with (images decoded, total).
using LoadProgress = std::function<void(int64_t, int64_t)>;

// Decodes `files` into `out`, image i at out + i * 3 * side * side, as
// (3, side, side) uint8 RGB, on all cores. Throws std::runtime_error naming
// the first file that cannot be decoded.
void decode_image_files(const std::vector<ImageFile>& files, int64_t side, uint8_t* out,
                        const LoadProgress& progress = {});

// Decodes a split into (N, 3, side, side) uint8 RGB with labels. `subset` > 0
// keeps a balanced subset of that many images. Throws std::runtime_error naming
// the file that cannot be decoded.
ImageDataset load_image_folder(const std::string& root, Split split, int64_t subset, int64_t side,
                               const LoadProgress& progress = {});

}  // namespace relnet
