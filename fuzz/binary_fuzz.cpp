// Fuzzes the fixed-record binary readers: CIFAR-10 and CIFAR-100 batch files
// (load_cifar10, load_cifar100: file size against the split, label bytes)
// and STL-10's image and label files (load_stl10: whole images, counts that
// agree, labels 1..10, the column-major transpose). Control bytes pick the
// dataset and split, the subset read, and whether the file is padded (with
// zeros, sparse) to the size the split needs so the records themselves are
// reached; the rest of the input is the start of the file.
#include <algorithm>
#include <string>

#include "fuzz_common.h"
#include "relnet/data/cifar.h"
#include "relnet/data/stl10.h"

namespace {

using namespace relnet::fuzz;
using relnet::Split;

// Writes `in`'s remaining bytes to `path`, then pads the file to `size`
// bytes when `pad` and it is shorter.
void write_padded(const fs::path& path, const Input& in, bool pad, uint64_t size) {
  fs::create_directories(path.parent_path());
  write_bytes(path, in.data(), in.size());
  if (pad && in.size() < size) fs::resize_file(path, size);
}

void cifar(Input& in, bool hundred, bool pad, int64_t subset) {
  const fs::path root = scratch() / (hundred ? "cifar100" : "cifar10");
  if (!hundred) {
    write_padded(root / "cifar-10-batches-bin" / "data_batch_1.bin", in, pad, 10000 * 3073);
    relnet::load_cifar10(root.string(), Split::kTrain, subset);
    return;
  }
  const bool coarse = subset % 2 == 0;
  write_padded(root / "cifar-100-binary" / "test.bin", in, pad, 10000 * 3074);
  relnet::load_cifar100(root.string(), Split::kTest, subset, coarse);
}

void stl10(Input& in, bool unlabeled, bool pad, int64_t subset) {
  const fs::path dir = scratch() / "stl10" / "stl10_binary";
  fs::create_directories(dir);
  const size_t labels = in.byte() % 8;
  const Input label_bytes(in.data(), std::min(labels, in.size()));
  const Input images(in.data() + label_bytes.size(), in.size() - label_bytes.size());
  const std::string split = unlabeled ? "unlabeled" : "train";
  write_padded(dir / (split + "_X.bin"), images, pad, std::max<size_t>(labels, 1) * 27648);
  write_bytes(dir / (split + "_y.bin"), label_bytes.data(), label_bytes.size());
  relnet::load_stl10((scratch() / "stl10").string(), unlabeled ? Split::kUnlabeled : Split::kTrain,
                     subset);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  Input in(data, size);
  const uint8_t kind = in.byte();
  const bool pad = (kind & 0x80) != 0;
  const int64_t subset = in.byte() % 9;  // at most 8 records: fast, and 0 = the whole split
  run_parser([&] {
    switch (kind % 4) {
      case 0:
        return cifar(in, false, pad, subset == 0 ? 1 : subset);
      case 1:
        return cifar(in, true, pad, subset == 0 ? 1 : subset);
      case 2:
        return stl10(in, false, pad, subset);
      default:
        return stl10(in, true, pad, subset);
    }
  });
  return 0;
}
