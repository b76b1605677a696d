// Packed datasets: any split relnet reads, decoded once into NumPy .npy
// files and memory-mapped at every later start (milliseconds whatever the
// size, one copy in the page cache for every process on the machine, and
// sets larger than memory paged in and out by the kernel).
//
// A pack is a folder:
//   pack.json            what it holds (below), written last: a folder
//                        without it is not a finished pack
//   <split>_images.npy   (N, 3, side, side) uint8, C order
//   <split>_labels.npy   (N) int64, -1 for unlabeled images
// pack.json: {"format": "relnet-pack", "version": 1, "source": {"dataset",
// "root"}, "side", "num_classes", "class_names", "normalization": {"mean",
// "std"}, "default_split", "splits": {"<split>": {"images", "images_file",
// "labels_file", "images_bytes", "labels_bytes", "images_crc32",
// "labels_crc32"}}}. The CRC-32s (zlib's, of each whole file) are checked on
// demand (`relnet data info --verify`), not at every start.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "relnet/data/dataset.h"

namespace relnet {

inline constexpr const char* kPackManifest = "pack.json";

struct PackSplit {
  int64_t images = 0;
  std::string images_file, labels_file;  // names inside the pack folder
  uint64_t images_bytes = 0, labels_bytes = 0;
  uint32_t images_crc32 = 0, labels_crc32 = 0;
};

struct PackInfo {
  std::string root;    // the pack folder
  std::string source;  // the dataset it was packed from
  std::string source_root;
  int64_t side = 0;
  int64_t num_classes = 0;
  std::vector<std::string> class_names;
  Normalization normalization;
  Split default_split = Split::kTrain;
  std::map<Split, PackSplit> splits;
};

// True when `root` holds a pack's manifest (pack.json).
bool is_pack(const std::string& root);

// Reads and checks `root`/pack.json. Throws std::runtime_error naming the
// folder and what is wrong: no pack.json (an interrupted pack leaves none),
// malformed JSON, another format or version, a missing or mistyped key.
PackInfo read_pack_info(const std::string& root);

// Maps one split of the pack at `root`: images backed by the mapping (no
// copy), labels read and range-checked. `subset` > 0 keeps `subset` images
// chosen as the source dataset would choose them (class by class in turn
// for image folders, the first ones otherwise; then copied out of the
// mapping). Throws std::runtime_error with one line naming the file for a
// missing split, a file that is not a regular file, a malformed or truncated
// .npy, a header that disagrees with the file's size or with pack.json, a
// labels file of another length or with labels out of range, and an
// `image_size` other than 0 or the pack's side.
ImageDataset load_pack(const std::string& root, Split split, int64_t subset = 0,
                       int64_t image_size = 0);

// Called with (images done, total) while packing.
using PackProgress = std::function<void(const std::string& split, int64_t done, int64_t total)>;

struct PackOptions {
  std::string dataset;        // any name load_dataset reads, except "packed"
  std::string root;           // its data root
  std::string out;            // the pack folder to create
  int64_t image_size = 0;     // 0 = the dataset's side (image folders: 64)
  std::vector<Split> splits;  // empty = every split the dataset has
  PackProgress progress;
};

// Decodes the splits of `options.dataset` into a pack at `options.out`.
// Image folders are decoded in chunks on all cores and streamed to disk, so
// a folder larger than memory packs; other datasets are read whole. Every
// file is written under a temporary name and renamed, pack.json last, so an
// interrupted pack leaves nothing that looks finished. Throws
// std::runtime_error when `out` already holds a pack, when a split cannot
// be read (with the reader's message) and when stop_requested() is raised
// between chunks.
PackInfo pack_dataset(const PackOptions& options);

// `relnet data info` for a pack: the manifest's figures, the size on disk
// and whether it is intact: the structure always (every file present, each
// header agreeing with pack.json and with its file's size), the CRC-32s of
// every file only when `verify`. Never throws for a damaged pack: the
// problem is recorded per split. Throws std::runtime_error when pack.json
// itself cannot be read.
nlohmann::json pack_report(const std::string& root, bool verify);

// The CRC-32 (zlib's) of a whole file, read in chunks.
uint32_t file_crc32(const std::string& path);

}  // namespace relnet
