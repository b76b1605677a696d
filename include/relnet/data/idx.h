// IDX reader for MNIST and Fashion-MNIST, gzip-compressed (.gz, read
// directly with zlib) or raw. Images: magic 0x00000803, then N, rows, cols
// (big-endian uint32), then N*rows*cols uint8. Labels: magic 0x00000801, N,
// then N uint8.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <string>

#include "relnet/data/dataset.h"

namespace relnet {

// Reads an IDX image file: returns (N, rows, cols) uint8, keeping the first
// `limit` images when limit > 0. Throws std::runtime_error naming the file on
// a missing file (or a directory, FIFO, link loop in its place), bad magic,
// fewer bytes than the header announces, a gzip stream cut before its
// trailer (checked when every image is read), or a `limit` above the file's
// image count.
torch::Tensor read_idx_images(const std::string& path, int64_t limit = 0);

// Reads an IDX label file: returns (N) int64, first `limit` when limit > 0.
// Throws like read_idx_images; label values are not range-checked here.
torch::Tensor read_idx_labels(const std::string& path, int64_t limit = 0);

// MNIST-style split from `root` (or `root/mnist`, `root/fashion-mnist` when
// that folder exists): train-images-idx3-ubyte[.gz] +
// train-labels-idx1-ubyte[.gz], or t10k-* for the test split. Grayscale is
// replicated to 3 channels; labels must be < 10 (error names the file and
// index otherwise). `name` is "mnist" or "fashion_mnist" (class names;
// std::invalid_argument otherwise). Throws std::runtime_error naming the files
// when their image and label counts differ or `subset` exceeds them.
ImageDataset load_idx_dataset(const std::string& name, const std::string& root, Split split,
                              int64_t subset = 0);

}  // namespace relnet
