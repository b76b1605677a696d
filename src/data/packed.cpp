// Packed datasets: writing a pack (`relnet data pack`), mapping its splits,
// and checking it (`relnet data info`).
#include "relnet/data/packed.h"

#include <zlib.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <stdexcept>

#include "relnet/data/image_folder.h"
#include "relnet/data/npy.h"
#include "relnet/util/json.h"
#include "relnet/util/runtime.h"
#include "relnet/util/version.h"

namespace relnet {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

constexpr const char* kFormat = "relnet-pack";
constexpr int kVersion = 1;

[[noreturn]] void fail(const std::string& root, const std::string& what) {
  throw std::runtime_error("packed dataset '" + root + "': " + what);
}

std::string file_in(const std::string& root, const std::string& name) {
  return (fs::path(root) / name).string();
}

// zlib's crc32 takes at most 4 GiB - 1 per call.
uint32_t crc32_update(uint32_t crc, const uint8_t* data, uint64_t size) {
  uLong c = crc;
  while (size > 0) {
    const auto n = static_cast<uInt>(std::min<uint64_t>(size, 1u << 30));
    c = ::crc32(c, data, n);
    data += n;
    size -= n;
  }
  return static_cast<uint32_t>(c);
}

std::string hex32(uint32_t v) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "%08x", v);
  return buf;
}

// ---------------------------------------------------------------- manifest

template <typename T>
T field(const json& j, const char* key, const std::string& where, const std::string& root) {
  if (!j.contains(key)) fail(root, "pack.json: " + where + "\"" + key + "\" is missing");
  try {
    return j.at(key).get<T>();
  } catch (const json::exception&) {
    fail(root, "pack.json: " + where + "\"" + key + "\" has the wrong type");
  }
}

uint32_t parse_crc(const json& j, const char* key, const std::string& where,
                   const std::string& root) {
  const auto text = field<std::string>(j, key, where, root);
  if (text.size() != 8 || text.find_first_not_of("0123456789abcdef") != std::string::npos) {
    fail(root, "pack.json: " + where + "\"" + key + "\" is not 8 hex digits");
  }
  return static_cast<uint32_t>(std::stoul(text, nullptr, 16));
}

json manifest_json(const PackInfo& info) {
  json splits = json::object();
  for (const auto& [split, s] : info.splits) {
    splits[to_string(split)] = {{"images", s.images},
                                {"images_file", s.images_file},
                                {"labels_file", s.labels_file},
                                {"images_bytes", s.images_bytes},
                                {"labels_bytes", s.labels_bytes},
                                {"images_crc32", hex32(s.images_crc32)},
                                {"labels_crc32", hex32(s.labels_crc32)}};
  }
  return {{"format", kFormat},
          {"version", kVersion},
          {"source", {{"dataset", info.source}, {"root", info.source_root}}},
          {"side", info.side},
          {"num_classes", info.num_classes},
          {"class_names", info.class_names},
          {"normalization", {{"mean", info.normalization.mean}, {"std", info.normalization.std}}},
          {"default_split", to_string(info.default_split)},
          {"splits", splits},
          {"relnet_version", version()}};
}

PackSplit parse_split_entry(const json& j, const std::string& name, const std::string& root) {
  const std::string where = "splits." + name + ".";
  PackSplit s;
  s.images = field<int64_t>(j, "images", where, root);
  s.images_file = field<std::string>(j, "images_file", where, root);
  s.labels_file = field<std::string>(j, "labels_file", where, root);
  s.images_bytes = field<uint64_t>(j, "images_bytes", where, root);
  s.labels_bytes = field<uint64_t>(j, "labels_bytes", where, root);
  s.images_crc32 = parse_crc(j, "images_crc32", where, root);
  s.labels_crc32 = parse_crc(j, "labels_crc32", where, root);
  for (const std::string* f : {&s.images_file, &s.labels_file}) {
    // File names only: a manifest may not point outside its folder.
    if (f->empty() || f->find('/') != std::string::npos || *f == "." || *f == "..") {
      fail(root, "pack.json: " + where + " names '" + *f + "', not a file inside the pack");
    }
  }
  if (s.images < 0) fail(root, "pack.json: " + where + "images is negative");
  return s;
}

// ------------------------------------------------------------ mapped files

std::string dims_text(const std::vector<int64_t>& d) {
  std::string s;
  for (size_t i = 0; i < d.size(); ++i) s += (i ? ", " : "") + std::to_string(d[i]);
  return "(" + s + ")";
}

// Maps a .npy file of the pack and parses its preamble.
std::pair<std::shared_ptr<const MappedFile>, NpyArray> open_npy(const std::string& root,
                                                                const std::string& name) {
  const std::string path = file_in(root, name);
  std::error_code ec;
  const auto status = fs::status(path, ec);
  if (!fs::exists(status)) fail(root, name + " is missing");
  if (!fs::is_regular_file(status)) fail(root, name + " is not a regular file");
  auto file = MappedFile::open(path);
  const NpyArray a =
      parse_npy_preamble(reinterpret_cast<const char*>(file->data()), file->size(), path);
  return {std::move(file), a};
}

// Checks a mapped .npy's preamble against `descr` and `shape` (pack.json's),
// and the file's size against the preamble.
void check_npy(const std::string& root, const std::string& name, const MappedFile& file,
               const NpyArray& a, const std::string& descr, const std::vector<int64_t>& shape) {
  if (a.descr != descr || a.shape != shape) {
    fail(root, name + " holds " + a.descr + " " + dims_text(a.shape) + ", pack.json says " + descr +
                   " " + dims_text(shape));
  }
  const uint64_t expected = a.data_offset + a.data_bytes();
  if (file.size() < expected) {
    fail(root, name + " is truncated: " + std::to_string(file.size()) + " bytes, its header " +
                   dims_text(a.shape) + " needs " + std::to_string(expected));
  }
  if (file.size() > expected) {
    fail(root, name + " has " + std::to_string(file.size()) + " bytes, " +
                   std::to_string(file.size() - expected) + " more than its header " +
                   dims_text(a.shape) + " accounts for");
  }
}

// The labels of a split, copied out of their file and range-checked.
torch::Tensor read_labels(const PackInfo& info, const PackSplit& s) {
  const auto [file, a] = open_npy(info.root, s.labels_file);
  // "N labels for M images" says more than a shape mismatch does.
  if (a.descr == "<i8" && a.shape.size() == 1 && a.shape[0] != s.images) {
    fail(info.root, s.labels_file + " holds " + std::to_string(a.shape[0]) + " labels for " +
                        std::to_string(s.images) + " images");
  }
  check_npy(info.root, s.labels_file, *file, a, "<i8", {s.images});
  torch::Tensor labels = torch::empty({s.images}, torch::kInt64);
  std::memcpy(labels.data_ptr<int64_t>(), file->data() + a.data_offset,
              static_cast<size_t>(a.data_bytes()));
  const int64_t* l = labels.data_ptr<int64_t>();
  for (int64_t i = 0; i < s.images; ++i) {
    if (l[i] < -1 || l[i] >= info.num_classes) {
      fail(info.root, s.labels_file + ": label " + std::to_string(l[i]) + " at row " +
                          std::to_string(i) + " is outside [-1, " +
                          std::to_string(info.num_classes) + ")");
    }
  }
  return labels;
}

// The rows a subset of `n` keeps: class by class in turn for image folders
// (as load_image_folder picks them), the first `n` otherwise.
std::vector<int64_t> subset_rows(const PackInfo& info, const torch::Tensor& labels, int64_t n) {
  if (info.source == "image_folder") {
    const int64_t* l = labels.data_ptr<int64_t>();
    return balanced_rows(std::vector<int64_t>(l, l + labels.numel()), info.num_classes, n);
  }
  std::vector<int64_t> rows(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) rows[static_cast<size_t>(i)] = i;
  return rows;
}

}  // namespace

bool is_pack(const std::string& root) {
  std::error_code ec;
  return !root.empty() && fs::exists(fs::path(root) / kPackManifest, ec);
}

PackInfo read_pack_info(const std::string& root) {
  const std::string path = file_in(root, kPackManifest);
  std::error_code ec;
  if (!fs::exists(path, ec)) {
    fail(root, std::string("no ") + kPackManifest +
                   " (not a pack, or an interrupted `relnet data pack`: run it again)");
  }
  if (!fs::is_regular_file(path, ec))
    fail(root, std::string(kPackManifest) + " is not a regular file");
  json j;
  try {
    std::ifstream in(path);
    j = parse_json(in);
  } catch (const json::exception& e) {
    fail(root, std::string(kPackManifest) + " is not valid JSON: " + e.what());
  } catch (const JsonTooDeep& e) {
    fail(root, std::string(kPackManifest) + " is " + e.what());
  }
  if (!j.is_object() || j.value("format", std::string()) != kFormat) {
    fail(root, std::string(kPackManifest) + " is not a relnet pack manifest (no \"format\": \"" +
                   kFormat + "\")");
  }
  if (field<int>(j, "version", "", root) != kVersion) {
    fail(root, "pack version " + j["version"].dump() + " is not one this relnet reads (" +
                   std::to_string(kVersion) + "): pack the dataset again");
  }
  PackInfo info;
  info.root = root;
  const json source = field<json>(j, "source", "", root);
  info.source = field<std::string>(source, "dataset", "source.", root);
  info.source_root = field<std::string>(source, "root", "source.", root);
  info.side = field<int64_t>(j, "side", "", root);
  info.num_classes = field<int64_t>(j, "num_classes", "", root);
  info.class_names = field<std::vector<std::string>>(j, "class_names", "", root);
  const json norm = field<json>(j, "normalization", "", root);
  info.normalization.mean = field<std::array<float, 3>>(norm, "mean", "normalization.", root);
  info.normalization.std = field<std::array<float, 3>>(norm, "std", "normalization.", root);
  if (info.side < 1) fail(root, "pack.json: \"side\" must be >= 1");
  if (info.num_classes < 0 || static_cast<size_t>(info.num_classes) != info.class_names.size()) {
    fail(root, "pack.json: \"num_classes\" disagrees with \"class_names\"");
  }
  try {
    info.default_split = parse_split(field<std::string>(j, "default_split", "", root));
    const json splits = field<json>(j, "splits", "", root);
    for (const auto& [name, entry] : splits.items()) {
      info.splits[parse_split(name)] = parse_split_entry(entry, name, root);
    }
  } catch (const std::invalid_argument& e) {
    fail(root, std::string("pack.json: ") + e.what());
  }
  if (info.splits.empty()) fail(root, "pack.json lists no splits");
  return info;
}

ImageDataset load_pack(const std::string& root, Split split, int64_t subset, int64_t image_size) {
  if (subset < 0) throw std::invalid_argument("subset must be >= 0, got " + std::to_string(subset));
  const PackInfo info = read_pack_info(root);
  const auto it = info.splits.find(split);
  if (it == info.splits.end()) {
    std::string list;
    for (const auto& [s, _] : info.splits) list += (list.empty() ? "" : ", ") + to_string(s);
    fail(root, "has no " + to_string(split) + " split (splits: " + list + ")");
  }
  if (image_size != 0 && image_size != info.side) {
    fail(root, "holds " + std::to_string(info.side) + "x" + std::to_string(info.side) +
                   " images, and " + std::to_string(image_size) + "x" + std::to_string(image_size) +
                   " are asked for (the checkpoint's side or "
                   "data.image_size): pack again with --image-size " +
                   std::to_string(image_size));
  }
  const PackSplit& s = it->second;
  const int64_t side = info.side;
  torch::Tensor labels = read_labels(info, s);
  auto [file, a] = open_npy(root, s.images_file);
  check_npy(root, s.images_file, *file, a, "|u1", {s.images, 3, side, side});
  ImageDataset ds;
  ds.name = "packed " + info.source;
  ds.num_classes = info.num_classes;
  ds.class_names = info.class_names;
  ds.mapping = file;
  // The tensor borrows the mapping and keeps it alive (the deleter holds it).
  auto* pixels = const_cast<uint8_t*>(file->data()) + a.data_offset;
  ds.images = torch::from_blob(
      pixels, {s.images, 3, side, side}, [file = file](void*) {}, torch::kUInt8);
  ds.labels = labels;
  if (subset > 0) {
    if (subset > s.images) {
      fail(root, "subset " + std::to_string(subset) + " is larger than its " + to_string(split) +
                     " split (" + std::to_string(s.images) + " images)");
    }
    const std::vector<int64_t> rows = subset_rows(info, labels, subset);
    const bool first_rows = rows.back() == static_cast<int64_t>(rows.size()) - 1;
    if (first_rows) {  // still backed by the mapping
      ds.images = ds.images.narrow(0, 0, subset);
      ds.labels = ds.labels.narrow(0, 0, subset).clone();
    } else {
      const torch::Tensor index = torch::tensor(rows, torch::kInt64);
      ds.images = ds.images.index_select(0, index);
      ds.labels = ds.labels.index_select(0, index);
      ds.mapping.reset();
    }
  }
  return ds;
}

// ------------------------------------------------------------------ writing

namespace {

// One .npy file written in pieces, with the CRC-32 of everything written.
class NpyWriter {
 public:
  NpyWriter(const std::string& path, const std::string& descr, const std::vector<int64_t>& shape)
      : file_(path) {
    const std::string preamble = npy_preamble(descr, shape);
    write(preamble.data(), preamble.size());
  }
  void write(const void* data, uint64_t size) {
    crc_ = crc32_update(crc_, static_cast<const uint8_t*>(data), size);
    file_.write(data, size);
    bytes_ += size;
  }
  void commit() { file_.commit(); }
  uint32_t crc() const { return crc_; }
  uint64_t bytes() const { return bytes_; }

 private:
  AtomicFileWriter file_;
  uint32_t crc_ = static_cast<uint32_t>(::crc32(0L, Z_NULL, 0));
  uint64_t bytes_ = 0;
};

void check_stop(const std::string& out) {
  if (stop_requested()) {
    throw std::runtime_error("packing stopped: '" + out + "' has no " + kPackManifest +
                             ", so it is not a pack; run the command again to pack it");
  }
}

// Writes the labels file of a split and records it in `s`.
void write_labels(const std::string& out, Split split, const std::vector<int64_t>& labels,
                  PackSplit& s) {
  s.labels_file = to_string(split) + "_labels.npy";
  NpyWriter w(file_in(out, s.labels_file), "<i8", {static_cast<int64_t>(labels.size())});
  w.write(labels.data(), labels.size() * sizeof(int64_t));
  w.commit();
  s.labels_bytes = w.bytes();
  s.labels_crc32 = w.crc();
}

// An image folder's split, decoded chunk by chunk and streamed to disk: at
// most `chunk` images are in memory at once.
PackSplit pack_folder_split(const PackOptions& o, Split split, int64_t side, PackInfo& info) {
  const ImageFolderIndex index = index_image_folder(o.root, split);
  if (info.class_names.empty()) info.class_names = index.class_names;
  const auto n = static_cast<int64_t>(index.files.size());
  PackSplit s;
  s.images = n;
  s.images_file = to_string(split) + "_images.npy";
  NpyWriter images(file_in(o.out, s.images_file), "|u1", {n, 3, side, side});
  const int64_t chunk = 2048, image_bytes = 3 * side * side;
  std::vector<uint8_t> buffer(static_cast<size_t>(std::min(n, chunk) * image_bytes));
  for (int64_t first = 0; first < n; first += chunk) {
    check_stop(o.out);
    const int64_t count = std::min(chunk, n - first);
    const std::vector<ImageFile> files(index.files.begin() + first,
                                       index.files.begin() + first + count);
    decode_image_files(files, side, buffer.data(), [&](int64_t done, int64_t) {
      if (o.progress) o.progress(to_string(split), first + done, n);
    });
    images.write(buffer.data(), static_cast<uint64_t>(count * image_bytes));
  }
  images.commit();
  s.images_bytes = images.bytes();
  s.images_crc32 = images.crc();
  std::vector<int64_t> labels;
  for (const auto& f : index.files) labels.push_back(f.label);
  write_labels(o.out, split, labels, s);
  return s;
}

// Any other dataset's split, read whole by its reader, then written.
PackSplit pack_loaded_split(const PackOptions& o, Split split, PackInfo& info) {
  check_stop(o.out);
  const ImageDataset ds = load_dataset(o.dataset, o.root, split, 0, o.image_size);
  if (info.class_names.empty()) info.class_names = ds.class_names;
  info.side = ds.side();
  PackSplit s;
  s.images = ds.size();
  s.images_file = to_string(split) + "_images.npy";
  NpyWriter images(file_in(o.out, s.images_file), "|u1", {ds.size(), 3, ds.side(), ds.side()});
  const torch::Tensor pixels = ds.images.contiguous();
  images.write(pixels.data_ptr<uint8_t>(), static_cast<uint64_t>(pixels.numel()));
  if (o.progress) o.progress(to_string(split), ds.size(), ds.size());
  images.commit();
  s.images_bytes = images.bytes();
  s.images_crc32 = images.crc();
  const torch::Tensor l = ds.labels.contiguous();
  write_labels(o.out, split,
               std::vector<int64_t>(l.data_ptr<int64_t>(), l.data_ptr<int64_t>() + l.numel()), s);
  return s;
}

// The splits to pack: those asked for, else every split the dataset has
// (an image folder's test split only when it has one).
std::vector<Split> splits_to_pack(const PackOptions& o, const DatasetSpec& spec) {
  for (const Split s : o.splits) {
    if (std::find(spec.splits.begin(), spec.splits.end(), s) == spec.splits.end()) {
      throw std::invalid_argument(o.dataset + " has no " + to_string(s) + " split");
    }
  }
  if (!o.splits.empty()) return o.splits;
  if (o.dataset != "image_folder") return spec.splits;
  std::vector<Split> out{Split::kTrain};
  try {
    index_image_folder(o.root, Split::kTest);
    out.push_back(Split::kTest);
  } catch (const std::exception&) {
    // no test split: train only
  }
  return out;
}

}  // namespace

PackInfo pack_dataset(const PackOptions& o) {
  if (o.dataset == "packed" || is_pack(o.root)) {
    throw std::invalid_argument("'" + o.root + "' is already a pack: it needs no packing");
  }
  const DatasetSpec& spec = dataset_spec(o.dataset);
  if (o.image_size < 0) {
    throw std::invalid_argument("image size must be >= 0, got " + std::to_string(o.image_size));
  }
  if (o.out.empty()) throw std::invalid_argument("no output folder: pass --out");
  if (is_pack(o.out)) {
    throw std::runtime_error("'" + o.out + "' already holds a pack (" + kPackManifest +
                             "): remove it or choose another --out");
  }
  ensure_directory(o.out);
  const std::vector<Split> splits = splits_to_pack(o, spec);
  PackInfo info;
  info.root = o.out;
  info.source = o.dataset;
  info.source_root = o.root;
  info.normalization = default_normalization(o.dataset);
  info.default_split = default_train_split(o.dataset);
  if (std::find(splits.begin(), splits.end(), info.default_split) == splits.end()) {
    info.default_split = splits.front();
  }
  info.side = o.image_size > 0 ? o.image_size : spec.side > 0 ? spec.side : 64;
  for (const Split split : splits) {
    info.splits[split] = o.dataset == "image_folder" ? pack_folder_split(o, split, info.side, info)
                                                     : pack_loaded_split(o, split, info);
  }
  info.num_classes = static_cast<int64_t>(info.class_names.size());
  write_file_atomic(file_in(o.out, kPackManifest), manifest_json(info).dump(2) + "\n");
  return info;
}

// ---------------------------------------------------------------- checking

uint32_t file_crc32(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot open '" + path + "'");
  std::vector<char> buf(1 << 22);
  uint32_t crc = static_cast<uint32_t>(::crc32(0L, Z_NULL, 0));
  while (in) {
    in.read(buf.data(), static_cast<std::streamsize>(buf.size()));
    const auto n = static_cast<uint64_t>(in.gcount());
    if (n == 0) break;
    crc = crc32_update(crc, reinterpret_cast<const uint8_t*>(buf.data()), n);
  }
  return crc;
}

json pack_report(const std::string& root, bool verify) {
  const PackInfo info = read_pack_info(root);
  json report = manifest_json(info);
  report["root"] = root;
  report["intact"] = true;
  report["verified"] = verify;
  uint64_t on_disk = 0;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(root, ec)) {
    if (entry.is_regular_file(ec)) on_disk += entry.file_size(ec);
  }
  report["bytes_on_disk"] = on_disk;
  for (const auto& [split, s] : info.splits) {
    json& r = report["splits"][to_string(split)];
    try {
      const ImageDataset ds = load_pack(root, split);
      if (split != Split::kUnlabeled && ds.num_classes > 0) {
        const torch::Tensor counts = torch::bincount(ds.labels.clamp_min(0), {}, ds.num_classes);
        r["per_class"] = std::vector<int64_t>(counts.data_ptr<int64_t>(),
                                              counts.data_ptr<int64_t>() + counts.numel());
      }
      if (verify) {
        for (const auto& [name, crc] :
             {std::pair{s.images_file, s.images_crc32}, std::pair{s.labels_file, s.labels_crc32}}) {
          const uint32_t actual = file_crc32(file_in(root, name));
          if (actual != crc) {
            fail(root, name + " is damaged: its CRC-32 is " + hex32(actual) + ", pack.json says " +
                           hex32(crc));
          }
        }
      }
    } catch (const std::exception& e) {
      r["error"] = e.what();
      report["intact"] = false;
    }
  }
  return report;
}

}  // namespace relnet
