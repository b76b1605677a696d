// Fuzzes the IDX reader of MNIST and Fashion-MNIST, gzip-compressed or raw
// (zlib's gz* API reads both): read_idx_images and read_idx_labels (magic,
// header dimensions, image size bounds, truncation, the deflate-ratio
// plausibility check, corrupt gzip streams) and load_idx_dataset (image and
// label files that must agree, labels 0..9). Control bytes pick the reader
// and the limit; for the dataset, one more says where the label file ends
// and the image file begins.
#include <algorithm>
#include <string>

#include "fuzz_common.h"
#include "relnet/data/dataset.h"
#include "relnet/data/idx.h"

namespace {

using namespace relnet::fuzz;

void dataset(Input& in, bool gzip_names, int64_t subset) {
  const fs::path root = scratch() / "mnist";
  fs::remove_all(root);
  fs::create_directories(root);
  const std::string suffix = gzip_names ? ".gz" : "";
  const size_t label_bytes = std::min<size_t>(in.byte(), in.size());
  write_bytes(root / ("train-labels-idx1-ubyte" + suffix), in.data(), label_bytes);
  write_bytes(root / ("train-images-idx3-ubyte" + suffix), in.data() + label_bytes,
              in.size() - label_bytes);
  relnet::load_idx_dataset("mnist", root.string(), relnet::Split::kTrain, subset);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  Input in(data, size);
  const uint8_t mode = in.byte();
  const int64_t limit = in.byte() % 9;
  run_parser([&] {
    const fs::path path = scratch() / "file.idx";
    switch (mode % 3) {
      case 0:
        write_bytes(path, in.data(), in.size());
        relnet::read_idx_images(path.string(), limit);
        return;
      case 1:
        write_bytes(path, in.data(), in.size());
        relnet::read_idx_labels(path.string(), limit);
        return;
      default:
        dataset(in, (mode & 0x80) != 0, limit);
    }
  });
  return 0;
}
