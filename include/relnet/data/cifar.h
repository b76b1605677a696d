// CIFAR binary format readers.
// CIFAR-10 (cifar-10-batches-bin/): data_batch_1..5.bin (train, 50,000
// images) and test_batch.bin (10,000). Each file holds 10,000 records of
// 1 label byte + 3,072 pixel bytes (R plane, G plane, B plane, each 32x32
// row-major).
// CIFAR-100 (cifar-100-binary/): train.bin (50,000 records) and test.bin
// (10,000), each record 1 coarse label byte (0..19), 1 fine label byte
// (0..99), then the same 3,072 pixel bytes.
#pragma once

#include <cstdint>
#include <string>

#include "relnet/data/dataset.h"

namespace relnet {

// Resolves the CIFAR-10 folder: `root/cifar-10-batches-bin` when it exists,
// else `root` itself. Throws std::runtime_error naming both when neither
// holds the batch files.
std::string cifar10_dir(const std::string& root);

// Reads a split. `subset` > 0 keeps the first `subset` images (and reads only
// the files needed for them). Images (N, 3, 32, 32) uint8, labels int64.
// Errors name the file, expected and found: missing file, a size other than
// 30,730,000 bytes, a label byte > 9, a `subset` above the split's size.
ImageDataset load_cifar10(const std::string& root, Split split, int64_t subset = 0);

// Resolves the CIFAR-100 folder: `root/cifar-100-binary` or `root` itself
// when it holds train.bin. Throws std::runtime_error naming both otherwise.
std::string cifar100_dir(const std::string& root);

// Reads a CIFAR-100 split with its fine labels (100 classes, dataset name
// "cifar100") or, with `coarse`, its 20 super-class labels
// ("supercifar100"). Errors as load_cifar10: missing file, a size that is not
// a whole number of 3,074-byte records or not the split's 50,000 / 10,000,
// a label out of range (naming record and file), a `subset` too large.
ImageDataset load_cifar100(const std::string& root, Split split, int64_t subset = 0,
                           bool coarse = false);

}  // namespace relnet
