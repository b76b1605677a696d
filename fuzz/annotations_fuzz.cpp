// Fuzzes the image-folder annotation file: tiny-ImageNet's
// val/val_annotations.txt ("file<TAB>class<TAB>box" per line), read by
// index_image_folder for the test split (line splitting, CR/LF, empty
// fields, class names that must be folders of the train split), then a
// balanced subset of what it lists (balanced_subset). A control byte picks
// the subset's size. Nothing is decoded: the folder holds no real images.
// Beyond crashes, one property is checked: every file listed lies directly
// in val/images/, whatever the annotations say.
#include <cstdio>
#include <cstdlib>
#include <string>

#include "fuzz_common.h"
#include "relnet/data/image_folder.h"

namespace {

using namespace relnet::fuzz;

// root/train/<class>/x.png for two classes, and root/val/images/.
const fs::path& image_root() {
  static const fs::path root = [] {
    const fs::path r = scratch() / "images";
    for (const char* cls : {"n01443537", "n01629819"}) {
      fs::create_directories(r / "train" / cls);
      write_bytes(r / "train" / cls / "x.png", nullptr, 0);
    }
    fs::create_directories(r / "val" / "images");
    return r;
  }();
  return root;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  Input in(data, size);
  const int64_t subset = in.byte() % 8;
  const fs::path root = image_root();
  write_bytes(root / "val" / "val_annotations.txt", in.data(), in.size());
  run_parser([&] {
    const relnet::ImageFolderIndex index =
        relnet::index_image_folder(root.string(), relnet::Split::kTest);
    for (const relnet::ImageFile& f : index.files) {
      if (fs::path(f.path).parent_path() != root / "val" / "images") {
        std::fprintf(stderr, "annotations_fuzz: '%s' lies outside val/images\n", f.path.c_str());
        std::abort();
      }
    }
    relnet::balanced_subset(index, subset);
  });
  return 0;
}
