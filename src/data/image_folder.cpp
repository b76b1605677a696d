// Image folder reader: an index of files per class, then parallel decoding
// with OpenCV into one uint8 tensor.
#include "relnet/data/image_folder.h"

#ifdef RELNET_WITH_IMAGE_IO
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#endif

#include <algorithm>
#include <atomic>
#include <cctype>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <set>
#include <sstream>
#include <stdexcept>
#include <thread>

namespace relnet {
namespace {

namespace fs = std::filesystem;

const std::set<std::string>& image_extensions() {
  static const std::set<std::string> ext = {".png", ".jpg", ".jpeg", ".bmp", ".ppm",
                                            ".pgm", ".tif", ".tiff", ".webp"};
  return ext;
}

bool is_image(const fs::path& p) {
  std::string ext = p.extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return image_extensions().count(ext) > 0;
}

std::string extension_list() {
  std::string list;
  for (const auto& e : image_extensions()) list += (list.empty() ? "" : " ") + e;
  return list;
}

bool is_dir(const fs::path& p) {
  std::error_code ec;
  return fs::is_directory(p, ec);
}

// Sorted names of the sub-folders of `dir`.
std::vector<std::string> class_folders(const fs::path& dir) {
  std::vector<std::string> names;
  for (const auto& entry : fs::directory_iterator(dir)) {
    if (entry.is_directory()) names.push_back(entry.path().filename().string());
  }
  std::sort(names.begin(), names.end());
  return names;
}

// Image files under `dir`, recursively, sorted.
std::vector<std::string> images_under(const fs::path& dir) {
  std::vector<std::string> paths;
  for (const auto& entry :
       fs::recursive_directory_iterator(dir, fs::directory_options::follow_directory_symlink)) {
    if (entry.is_regular_file() && is_image(entry.path())) paths.push_back(entry.path().string());
  }
  std::sort(paths.begin(), paths.end());
  return paths;
}

// root/train when it exists (tiny-ImageNet, split layouts), else root.
fs::path train_dir(const fs::path& root) { return is_dir(root / "train") ? root / "train" : root; }

// Files of `dir`/<class>/..., labels from `classes` (the train split's).
void index_class_folders(const fs::path& dir, const std::vector<std::string>& classes,
                         bool require_every_class, ImageFolderIndex& index) {
  std::map<std::string, int64_t> label_of;
  for (size_t i = 0; i < classes.size(); ++i) label_of[classes[i]] = static_cast<int64_t>(i);
  for (const auto& name : class_folders(dir)) {
    const auto it = label_of.find(name);
    if (it == label_of.end()) {
      throw std::runtime_error("image folder '" + dir.string() + "': class folder '" + name +
                               "' is not a class of the train split");
    }
    const auto paths = images_under(dir / name);
    if (paths.empty() && require_every_class) {
      throw std::runtime_error("image folder class '" + name + "' ('" + (dir / name).string() +
                               "') holds no images (" + extension_list() + ")");
    }
    for (const auto& p : paths) index.files.push_back({p, it->second});
  }
}

// tiny-ImageNet's val/: images/ plus val_annotations.txt ("file<TAB>class<TAB>box").
void index_annotations(const fs::path& val, const std::vector<std::string>& classes,
                       ImageFolderIndex& index) {
  std::map<std::string, int64_t> label_of;
  for (size_t i = 0; i < classes.size(); ++i) label_of[classes[i]] = static_cast<int64_t>(i);
  const fs::path annotations = val / "val_annotations.txt";
  std::ifstream in(annotations);
  if (!in) throw std::runtime_error("cannot open '" + annotations.string() + "'");
  std::string line;
  int64_t line_no = 0;
  while (std::getline(in, line)) {
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty()) continue;
    std::istringstream fields(line);
    std::string file, cls;
    if (!std::getline(fields, file, '\t') || !std::getline(fields, cls, '\t') || file.empty() ||
        cls.empty()) {
      throw std::runtime_error("'" + annotations.string() + "' line " + std::to_string(line_no) +
                               ": expected '<file><TAB><class>...', got '" + line + "'");
    }
    // A file name, as in tiny-ImageNet: no folders, so no way out of images/.
    if (file.find('/') != std::string::npos || file == "." || file == "..") {
      throw std::runtime_error("'" + annotations.string() + "' line " + std::to_string(line_no) +
                               ": '" + file + "' is not a file name inside '" +
                               (val / "images").string() + "'");
    }
    const auto it = label_of.find(cls);
    if (it == label_of.end()) {
      throw std::runtime_error("'" + annotations.string() + "' line " + std::to_string(line_no) +
                               ": class '" + cls + "' is not a class of the train split");
    }
    index.files.push_back({(val / "images" / file).string(), it->second});
  }
  std::stable_sort(index.files.begin(), index.files.end(),
                   [](const ImageFile& a, const ImageFile& b) { return a.label < b.label; });
}

// Decodes one file into `dst` (3 x side x side, CHW, RGB).
void decode_into(const std::string& path, int64_t side, uint8_t* dst) {
#ifndef RELNET_WITH_IMAGE_IO
  (void)side;
  (void)dst;
  throw std::runtime_error("cannot decode '" + path +
                           "': this relnet was built without image I/O "
                           "(-DRELNET_WITH_IMAGE_IO=OFF), so image folders cannot be read");
#else
  cv::Mat bgr = cv::imread(path, cv::IMREAD_COLOR);
  if (bgr.empty()) {
    throw std::runtime_error("cannot decode image '" + path +
                             "' (unreadable, corrupt or not an image)");
  }
  if (bgr.rows != side || bgr.cols != side) {
    const bool shrink = bgr.rows > side || bgr.cols > side;
    cv::resize(bgr, bgr, cv::Size(static_cast<int>(side), static_cast<int>(side)), 0, 0,
               shrink ? cv::INTER_AREA : cv::INTER_LINEAR);
  }
  const int64_t plane = side * side;
  for (int64_t y = 0; y < side; ++y) {
    const auto* row = bgr.ptr<cv::Vec3b>(static_cast<int>(y));
    for (int64_t x = 0; x < side; ++x) {
      dst[y * side + x] = row[x][2];
      dst[plane + y * side + x] = row[x][1];
      dst[2 * plane + y * side + x] = row[x][0];
    }
  }
#endif
}

}  // namespace

ImageFolderIndex index_image_folder(const std::string& root_text, Split split) {
  const fs::path root(root_text);
  if (!is_dir(root))
    throw std::runtime_error("image folder root '" + root_text + "' does not exist");
  const fs::path train = train_dir(root);
  ImageFolderIndex index;
  index.class_names = class_folders(train);
  if (index.class_names.empty()) {
    throw std::runtime_error("image folder '" + train.string() +
                             "' has no class folders (expected <root>/<class>/<image>)");
  }
  if (split == Split::kUnlabeled) {
    throw std::invalid_argument("image folders have no unlabeled split (splits: train, test)");
  }
  if (split == Split::kTrain) {
    index.dir = train.string();
    index_class_folders(train, index.class_names, true, index);
  } else {
    const fs::path val = root / "val";
    const fs::path test = root / "test";
    if (train == root) {
      throw std::runtime_error("image folder '" + root_text +
                               "' has no test split: put the training classes in '" +
                               (root / "train").string() + "' and the test classes in '" +
                               val.string() + "' or '" + test.string() + "'");
    }
    if (fs::is_regular_file(val / "val_annotations.txt")) {
      index.dir = val.string();
      index_annotations(val, index.class_names, index);
    } else if (is_dir(val) || is_dir(test)) {
      const fs::path dir = is_dir(val) ? val : test;
      index.dir = dir.string();
      index_class_folders(dir, index.class_names, false, index);
    } else {
      throw std::runtime_error("image folder '" + root_text + "' has no test split: neither '" +
                               val.string() + "' nor '" + test.string() + "' exists");
    }
  }
  if (index.files.empty()) {
    throw std::runtime_error("image folder '" + index.dir + "' holds no images (" +
                             extension_list() + ")");
  }
  return index;
}

std::vector<int64_t> balanced_rows(const std::vector<int64_t>& labels, int64_t num_classes,
                                   int64_t n) {
  std::vector<std::vector<int64_t>> by_class(static_cast<size_t>(num_classes));
  for (size_t i = 0; i < labels.size(); ++i) {
    if (labels[i] >= 0 && labels[i] < num_classes) {
      by_class[static_cast<size_t>(labels[i])].push_back(static_cast<int64_t>(i));
    }
  }
  std::vector<int64_t> rows;
  for (size_t round = 0; static_cast<int64_t>(rows.size()) < n; ++round) {
    bool any = false;
    for (const auto& members : by_class) {
      if (round < members.size() && static_cast<int64_t>(rows.size()) < n) {
        rows.push_back(members[round]);
        any = true;
      }
    }
    if (!any) break;
  }
  return rows;
}

std::vector<ImageFile> balanced_subset(const ImageFolderIndex& index, int64_t n) {
  std::vector<int64_t> labels;
  for (const auto& f : index.files) labels.push_back(f.label);
  std::vector<ImageFile> out;
  for (const int64_t row :
       balanced_rows(labels, static_cast<int64_t>(index.class_names.size()), n)) {
    out.push_back(index.files[static_cast<size_t>(row)]);
  }
  return out;
}

void decode_image_files(const std::vector<ImageFile>& files, int64_t side, uint8_t* out,
                        const LoadProgress& progress) {
  const auto n = static_cast<int64_t>(files.size());
  const int64_t image_bytes = 3 * side * side;
  std::atomic<int64_t> next{0}, done{0};
  std::atomic<bool> failed{false};
  std::string error;
  std::mutex error_mutex;
  auto worker = [&] {
    for (int64_t i = next++; i < n && !failed; i = next++) {
      try {
        decode_into(files[static_cast<size_t>(i)].path, side, out + i * image_bytes);
      } catch (const std::exception& e) {
        std::lock_guard<std::mutex> lock(error_mutex);
        if (!failed.exchange(true)) error = e.what();
      }
      ++done;
    }
  };
  const int64_t threads =
      std::max<int64_t>(1, std::min<int64_t>(std::thread::hardware_concurrency(), n / 64 + 1));
  std::vector<std::thread> pool;
  for (int64_t t = 0; t < threads; ++t) pool.emplace_back(worker);
  if (progress) {
    while (done < n && !failed) {
      progress(done, n);
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
  }
  for (auto& t : pool) t.join();
  if (failed) throw std::runtime_error(error);
  if (progress) progress(n, n);
}

ImageDataset load_image_folder(const std::string& root, Split split, int64_t subset, int64_t side,
                               const LoadProgress& progress) {
  if (subset < 0) throw std::invalid_argument("subset must be >= 0, got " + std::to_string(subset));
  if (side < 1) throw std::invalid_argument("image side must be >= 1, got " + std::to_string(side));
  const ImageFolderIndex index = index_image_folder(root, split);
  const int64_t total = static_cast<int64_t>(index.files.size());
  if (subset > total) {
    throw std::runtime_error("subset " + std::to_string(subset) +
                             " is larger than the image folder " + to_string(split) + " split ('" +
                             index.dir + "', " + std::to_string(total) + " images)");
  }
  const std::vector<ImageFile> files = subset > 0 ? balanced_subset(index, subset) : index.files;
  const auto n = static_cast<int64_t>(files.size());

  ImageDataset ds;
  ds.name = "image_folder";
  ds.class_names = index.class_names;
  ds.num_classes = static_cast<int64_t>(index.class_names.size());
  ds.images = torch::empty({n, 3, side, side}, torch::kUInt8);  // (N, 3, side, side)
  ds.labels = torch::empty({n}, torch::kInt64);                 // (N)
  auto* labels = ds.labels.data_ptr<int64_t>();
  for (int64_t i = 0; i < n; ++i) labels[i] = files[static_cast<size_t>(i)].label;

  decode_image_files(files, side, ds.images.data_ptr<uint8_t>(), progress);
  return ds;
}

}  // namespace relnet
