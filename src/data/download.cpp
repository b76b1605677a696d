// Dataset download: libcurl transfer -> MD5 (OpenSSL EVP) -> libarchive
// extraction in a temporary folder under the root -> rename into place.
#include "relnet/data/download.h"

#ifdef RELNET_WITH_DOWNLOAD
#include <archive.h>
#include <archive_entry.h>
#include <curl/curl.h>
#include <openssl/evp.h>
#endif
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>

#include "relnet/util/fs.h"
#include "relnet/util/runtime.h"

namespace relnet {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

constexpr const char* kMarker = ".relnet-download.json";

#ifdef RELNET_WITH_DOWNLOAD
// Incremental MD5 over OpenSSL's EVP interface.
class Md5 {
 public:
  Md5() : ctx_(EVP_MD_CTX_new(), EVP_MD_CTX_free) {
    if (!ctx_ || EVP_DigestInit_ex(ctx_.get(), EVP_md5(), nullptr) != 1) {
      throw std::runtime_error("OpenSSL could not initialise MD5");
    }
  }
  void update(const void* data, size_t size) { EVP_DigestUpdate(ctx_.get(), data, size); }
  std::string hex() {
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    EVP_DigestFinal_ex(ctx_.get(), digest, &len);
    static const char* digits = "0123456789abcdef";
    std::string out;
    for (unsigned int i = 0; i < len; ++i) {
      out += digits[digest[i] >> 4];
      out += digits[digest[i] & 15];
    }
    return out;
  }

 private:
  std::unique_ptr<EVP_MD_CTX, void (*)(EVP_MD_CTX*)> ctx_;
};

void init_curl() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

struct Transfer {
  std::FILE* file = nullptr;
  std::string path;
  std::string name;
  Md5 md5;
  int64_t bytes = 0;
  int write_errno = 0;
  const DownloadProgress* progress = nullptr;
};

size_t on_data(char* data, size_t size, size_t count, void* user) {
  auto* t = static_cast<Transfer*>(user);
  const size_t bytes = size * count;
  if (std::fwrite(data, 1, bytes, t->file) != bytes) {
    t->write_errno = errno ? errno : EIO;
    return 0;  // makes curl stop with CURLE_WRITE_ERROR
  }
  t->md5.update(data, bytes);
  t->bytes += static_cast<int64_t>(bytes);
  return bytes;
}

int on_progress(void* user, curl_off_t total, curl_off_t now, curl_off_t, curl_off_t) {
  auto* t = static_cast<Transfer*>(user);
  if (stop_requested()) return 1;  // CURLE_ABORTED_BY_CALLBACK
  if (t->progress && *t->progress) (*t->progress)(t->name, now, total);
  return 0;
}
#endif  // RELNET_WITH_DOWNLOAD

// Removes a folder tree when it goes out of scope.
class TempTree {
 public:
  explicit TempTree(fs::path path) : path_(std::move(path)) {
    std::error_code ec;
    fs::remove_all(path_, ec);
    fs::create_directories(path_, ec);
    if (ec) {
      throw std::runtime_error("cannot create temporary folder '" + path_.string() +
                               "': " + ec.message());
    }
  }
  ~TempTree() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  TempTree(const TempTree&) = delete;
  TempTree& operator=(const TempTree&) = delete;
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

std::string expected_md5(const DatasetSource& source, const DownloadOptions& options,
                         const RemoteFile& file) {
  return options.md5.empty() ? file.md5 : options.md5;
}

}  // namespace

std::string why_incomplete(const std::string& folder,
                           const std::vector<std::pair<std::string, int64_t>>& expected) {
  for (const auto& [name, size] : expected) {
    const fs::path p = fs::path(folder) / name;
    std::error_code ec;
    const fs::file_status own = fs::symlink_status(p, ec);
    if (ec || !fs::exists(own)) return "'" + p.string() + "' is missing";
    if (fs::is_symlink(own)) return "'" + p.string() + "' is a symbolic link";
    if (!fs::is_regular_file(own)) return "'" + p.string() + "' is not a regular file";
    const auto actual = fs::file_size(p, ec);
    if (ec || static_cast<int64_t>(actual) != size) {
      return "'" + p.string() + "' has " + std::to_string(ec ? 0 : actual) + " bytes, expected " +
             std::to_string(size);
    }
  }
  return "";
}

namespace {

// Why `folder` is not an intact copy of the dataset ("" when it is).
// (Unused in builds without downloading.)
[[maybe_unused]] std::string why_not_intact(const fs::path& folder, const DatasetSource& source,
                                            const DownloadOptions& options) {
  std::error_code ec;
  if (!fs::is_directory(folder, ec)) return "it does not exist";
  // Written by a verified download: the checksums it verified.
  const fs::path marker = folder / kMarker;
  if (fs::is_regular_file(marker, ec)) {
    try {
      std::ifstream in(marker);
      const json j = json::parse(in);
      bool all = true;
      for (const auto& f : source.files) {
        all = all && j.at("md5").value(f.name, "") == expected_md5(source, options, f);
      }
      if (all) return "";
    } catch (const std::exception&) {
      // fall through to the file checks
    }
  }
  if (source.archive) return why_incomplete(folder, source.expected_sizes);
  for (const auto& f : source.files) {
    const fs::path p = folder / f.name;
    if (!fs::is_regular_file(p, ec)) return "'" + p.string() + "' is missing";
    const std::string md5 = md5_file(p.string());
    if (md5 != expected_md5(source, options, f)) {
      return "'" + p.string() + "' has MD5 " + md5 + ", expected " +
             expected_md5(source, options, f);
    }
  }
  return "";
}

std::vector<std::pair<std::string, int64_t>> cifar10_sizes() {
  std::vector<std::pair<std::string, int64_t>> out;
  for (int i = 1; i <= 5; ++i)
    out.emplace_back("data_batch_" + std::to_string(i) + ".bin", 30730000);
  out.emplace_back("test_batch.bin", 30730000);
  return out;
}

#ifdef RELNET_WITH_DOWNLOAD
// libarchive's message for `a`; it has none after some failures, and a
// null pointer must not reach std::string.
std::string archive_message(archive* a) {
  const char* text = archive_error_string(a);
  return text ? text : "unknown libarchive error";
}
#endif

}  // namespace

bool download_available() {
#ifdef RELNET_WITH_DOWNLOAD
  return true;
#else
  return false;
#endif
}

const std::vector<DatasetSource>& download_sources() {
  static const std::vector<DatasetSource> sources = {
      {"cifar10",
       "https://www.cs.toronto.edu/~kriz/",
       {{"cifar-10-binary.tar.gz", "c32a1d4ab5d03f1284b67883e8d87530"}},
       true,
       "cifar-10-batches-bin",
       cifar10_sizes()},
      {"cifar100",
       "https://www.cs.toronto.edu/~kriz/",
       {{"cifar-100-binary.tar.gz", "03b5dce01913d631647c71ecec9e9cb8"}},
       true,
       "cifar-100-binary",
       {{"train.bin", 153700000}, {"test.bin", 30740000}}},
      {"stl10",
       "http://ai.stanford.edu/~acoates/stl10/",
       {{"stl10_binary.tar.gz", "91f7769df0f17e558f3565bffb0c7dfb"}},
       true,
       "stl10_binary",
       {{"train_X.bin", 138240000},
        {"train_y.bin", 5000},
        {"test_X.bin", 221184000},
        {"test_y.bin", 8000},
        {"unlabeled_X.bin", 2764800000}}},
      {"fashion_mnist",
       "https://raw.githubusercontent.com/zalandoresearch/fashion-mnist/master/data/fashion/",
       {{"train-images-idx3-ubyte.gz", "8d4fb7e6c68d591d4c3dfef9ec88bf0d"},
        {"train-labels-idx1-ubyte.gz", "25c81989df183df01b3e8a0aad5dffbe"},
        {"t10k-images-idx3-ubyte.gz", "bef4ecab320f06d8554ea6380940ec79"},
        {"t10k-labels-idx1-ubyte.gz", "bb300cfdad3c16e7a12a480ee83cd310"}},
       false,
       "fashion-mnist",
       {}},
      {"mnist",
       "https://storage.googleapis.com/cvdf-datasets/mnist/",
       {{"train-images-idx3-ubyte.gz", "f68b3c2dcbeaaa9fbdd348bbdeb94873"},
        {"train-labels-idx1-ubyte.gz", "d53e105ee54ea40749a09fcbcd1e9432"},
        {"t10k-images-idx3-ubyte.gz", "9fb629c4189551a2d022fa330f9573f3"},
        {"t10k-labels-idx1-ubyte.gz", "ec29112dd5afa0611ce80d1b7f02629c"}},
       false,
       "mnist",
       {}},
  };
  return sources;
}

const DatasetSource& download_source(const std::string& dataset) {
  for (const auto& s : download_sources()) {
    if (s.dataset == dataset) return s;
  }
  std::string list;
  for (const auto& s : download_sources()) list += (list.empty() ? "" : ", ") + s.dataset;
  throw std::invalid_argument("cannot download '" + dataset + "' (downloadable: " + list + ")");
}

#ifdef RELNET_WITH_DOWNLOAD

std::string md5_hex(const void* data, size_t size) {
  Md5 md5;
  md5.update(data, size);
  return md5.hex();
}

std::string md5_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot open '" + path + "' to checksum it");
  Md5 md5;
  std::vector<char> buffer(1 << 20);
  while (in) {
    in.read(buffer.data(), static_cast<std::streamsize>(buffer.size()));
    md5.update(buffer.data(), static_cast<size_t>(in.gcount()));
  }
  if (in.bad()) throw std::runtime_error("cannot read '" + path + "' to checksum it");
  return md5.hex();
}

std::string fetch_url(const std::string& url, const std::string& path, int64_t timeout_s,
                      const DownloadProgress& progress) {
  init_curl();
  Transfer t;
  t.path = path;
  t.name = fs::path(path).filename().string();
  t.progress = &progress;
  t.file = std::fopen(path.c_str(), "wb");
  if (!t.file) {
    throw std::runtime_error("cannot write '" + path + "': " + std::strerror(errno));
  }
  std::unique_ptr<CURL, void (*)(CURL*)> curl(curl_easy_init(), curl_easy_cleanup);
  if (!curl) {
    std::fclose(t.file);
    throw std::runtime_error("libcurl could not start a transfer");
  }
  char error_buffer[CURL_ERROR_SIZE] = {0};
  CURL* h = curl.get();
  curl_easy_setopt(h, CURLOPT_URL, url.c_str());
  curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 1L);
  curl_easy_setopt(h, CURLOPT_FAILONERROR, 1L);
  curl_easy_setopt(h, CURLOPT_ERRORBUFFER, error_buffer);
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_data);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, &t);
  curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
  curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, on_progress);
  curl_easy_setopt(h, CURLOPT_XFERINFODATA, &t);
  curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, 30L);
  curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, 1L);
  curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, static_cast<long>(timeout_s));
  curl_easy_setopt(h, CURLOPT_USERAGENT, "relnet/" RELNET_VERSION);
  const CURLcode rc = curl_easy_perform(h);
  long status = 0;
  curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
  curl_off_t expected = -1;
  curl_easy_getinfo(h, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &expected);
  const bool flushed = std::fflush(t.file) == 0 && ::fsync(fileno(t.file)) == 0;
  const int flush_errno = errno;
  const bool closed = std::fclose(t.file) == 0;
  const std::string detail = error_buffer[0] ? error_buffer : curl_easy_strerror(rc);
  switch (rc) {
    case CURLE_OK:
      break;
    case CURLE_ABORTED_BY_CALLBACK:
      throw DownloadInterrupted("download of " + url + " interrupted");
    case CURLE_HTTP_RETURNED_ERROR:
      throw std::runtime_error("download of " + url + " failed: HTTP " + std::to_string(status));
    case CURLE_COULDNT_CONNECT:
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
      throw std::runtime_error("cannot reach " + url + ": " + detail);
    case CURLE_WRITE_ERROR:
      throw std::runtime_error("cannot write '" + path +
                               "': " + std::strerror(t.write_errno ? t.write_errno : EIO));
    case CURLE_PARTIAL_FILE:
      throw std::runtime_error("download of " + url + " was cut off after " +
                               std::to_string(t.bytes) + " of " +
                               std::to_string(static_cast<int64_t>(expected)) + " bytes");
    default:
      throw std::runtime_error("download of " + url + " failed after " + std::to_string(t.bytes) +
                               " bytes: " + detail);
  }
  if (!flushed || !closed) {
    throw std::runtime_error("cannot write '" + path + "': " + std::strerror(flush_errno));
  }
  return t.md5.hex();
}

// Only regular files and folders are installed: a symbolic link (to
// anything), a hard link, a device or a FIFO in a dataset archive is refused,
// naming the entry.
void refuse_special_entry(archive_entry* entry, const std::string& what, const std::string& name) {
  std::string kind;
  if (const char* target = archive_entry_hardlink(entry)) {
    kind = std::string("a hard link to '") + target + "'";
  } else {
    switch (archive_entry_filetype(entry)) {
      case AE_IFREG:
      case AE_IFDIR:
        return;
      case AE_IFLNK: {
        const char* target = archive_entry_symlink(entry);
        kind = std::string("a symbolic link to '") + (target ? target : "") + "'";
        break;
      }
      case AE_IFIFO:
        kind = "a FIFO";
        break;
      case AE_IFCHR:
      case AE_IFBLK:
        kind = "a device";
        break;
      default:
        kind = "not a regular file";
    }
  }
  throw std::runtime_error(what + ": entry '" + name + "' is " + kind +
                           "; only regular files are installed, nothing was installed");
}

void extract_archive(const std::string& archive_path, const std::string& dest) {
  std::unique_ptr<archive, int (*)(archive*)> in(archive_read_new(), archive_read_free);
  std::unique_ptr<archive, int (*)(archive*)> out(archive_write_disk_new(), archive_write_free);
  archive_read_support_filter_all(in.get());
  archive_read_support_format_all(in.get());
  // Entries are checked here (no absolute names, no '..') and then written
  // under the absolute `dest`, so libarchive's own absolute-path refusal
  // cannot be used; its '..' and symlink guards stay on as a second line.
  archive_write_disk_set_options(out.get(), ARCHIVE_EXTRACT_TIME | ARCHIVE_EXTRACT_SECURE_NODOTDOT |
                                                ARCHIVE_EXTRACT_SECURE_SYMLINKS);
  const fs::path root = fs::absolute(dest).lexically_normal();
  const std::string what = "archive '" + archive_path + "'";
  if (archive_read_open_filename(in.get(), archive_path.c_str(), 1 << 20) != ARCHIVE_OK) {
    throw std::runtime_error(what + " cannot be opened: " + archive_message(in.get()));
  }
  archive_entry* entry = nullptr;
  int64_t entries = 0;
  for (;;) {
    const int r = archive_read_next_header(in.get(), &entry);
    if (r == ARCHIVE_EOF) break;
    if (r < ARCHIVE_WARN) {
      throw std::runtime_error(what + " is damaged: " + archive_message(in.get()));
    }
    const char* pathname = archive_entry_pathname(entry);
    if (pathname == nullptr) throw std::runtime_error(what + ": an entry has no name");
    const std::string name = pathname;
    const auto escapes = [](const fs::path& rel) {
      if (rel.is_absolute()) return true;
      for (const auto& part : rel) {
        if (part == "..") return true;
      }
      return false;
    };
    if (escapes(name)) {
      throw std::runtime_error(what + ": entry '" + name + "' would be written outside '" + dest +
                               "'");
    }
    refuse_special_entry(entry, what, name);
    archive_entry_set_pathname(entry, (root / name).string().c_str());
    if (archive_write_header(out.get(), entry) < ARCHIVE_WARN) {
      throw std::runtime_error(what + ": cannot extract '" + name +
                               "': " + archive_message(out.get()));
    }
    const void* block = nullptr;
    size_t size = 0;
    la_int64_t offset = 0;
    for (;;) {
      const int d = archive_read_data_block(in.get(), &block, &size, &offset);
      if (d == ARCHIVE_EOF) break;
      if (d < ARCHIVE_WARN) {
        throw std::runtime_error(what + ": entry '" + name +
                                 "' is damaged: " + archive_message(in.get()));
      }
      if (archive_write_data_block(out.get(), block, size, offset) < ARCHIVE_WARN) {
        throw std::runtime_error(what + ": cannot write '" + name +
                                 "': " + archive_message(out.get()));
      }
    }
    if (archive_write_finish_entry(out.get()) < ARCHIVE_WARN) {
      throw std::runtime_error(what + ": cannot write '" + name +
                               "': " + archive_message(out.get()));
    }
    ++entries;
  }
  if (entries == 0) throw std::runtime_error(what + " holds no files");
}

DownloadResult download_dataset(const DownloadOptions& options, const DownloadProgress& progress) {
  const DatasetSource& source = download_source(options.dataset);
  if (!options.md5.empty()) {
    if (source.files.size() != 1) {
      throw std::invalid_argument("--md5 applies to single-archive datasets; " + source.dataset +
                                  " has " + std::to_string(source.files.size()) + " files");
    }
    if (options.md5.size() != 32 ||
        options.md5.find_first_not_of("0123456789abcdef") != std::string::npos) {
      throw std::invalid_argument("--md5 must be 32 lowercase hex digits, got '" + options.md5 +
                                  "'");
    }
  }
  ensure_directory(options.root);
  DownloadResult result;
  const fs::path root(options.root);
  const fs::path final_dir = root / source.folder;
  result.folder = final_dir.string();
  std::error_code ec;
  const bool exists = fs::exists(final_dir, ec);
  if (exists) {
    const std::string why = why_not_intact(final_dir, source, options);
    if (why.empty()) {
      result.already_present = true;
      return result;
    }
    spdlog::warn(
        "'{}' is not an intact copy ({}): it will be replaced once the download is verified",
        final_dir.string(), why);
  }

  std::string base = options.url.empty() ? source.base_url : options.url;
  if (!base.empty() && base.back() != '/') base += '/';
  TempTree tmp(root / (".relnet-download-" + source.dataset + "-" + std::to_string(::getpid())));
  json marker = {{"dataset", source.dataset}, {"url", base}, {"md5", json::object()}};
  for (const auto& file : source.files) {
    const std::string url = base + file.name;
    const std::string part = (tmp.path() / (file.name + ".part")).string();
    spdlog::info("downloading {}", url);
    const std::string md5 = fetch_url(url, part, options.timeout_s, progress);
    result.bytes += static_cast<int64_t>(fs::file_size(part, ec));
    const std::string expected = expected_md5(source, options, file);
    if (md5 != expected) {
      throw std::runtime_error("checksum mismatch for " + url + ": MD5 " + md5 + ", expected " +
                               expected + "; nothing was installed");
    }
    spdlog::info("{}: MD5 {} verified", file.name, md5);
    fs::rename(part, tmp.path() / file.name);
    marker["md5"][file.name] = md5;
  }

  fs::path staged;
  if (source.archive) {
    const fs::path extracted = tmp.path() / "extracted";
    fs::create_directories(extracted);
    spdlog::info("extracting {}", source.files[0].name);
    extract_archive((tmp.path() / source.files[0].name).string(), extracted.string());
    staged = extracted / source.folder;
    if (!fs::is_directory(staged, ec)) {
      throw std::runtime_error("archive " + base + source.files[0].name + " does not contain '" +
                               source.folder + "/'; nothing was installed");
    }
    std::string incomplete = why_incomplete(staged.string(), source.expected_sizes);
    // Named as inside the archive, not by the temporary folder.
    const std::string prefix = "'" + staged.string() + "/";
    if (incomplete.rfind(prefix, 0) == 0) {
      incomplete = "'" + source.folder + "/" + incomplete.substr(prefix.size());
    }
    if (!incomplete.empty()) {
      throw std::runtime_error("archive " + base + source.files[0].name + " is not a complete " +
                               source.dataset + ": " + incomplete + "; nothing was installed");
    }
  } else {
    staged = tmp.path() / source.folder;
    fs::create_directories(staged);
    for (const auto& file : source.files) fs::rename(tmp.path() / file.name, staged / file.name);
  }
  write_file_atomic((staged / kMarker).string(), marker.dump(2) + "\n");
  if (exists) fs::rename(final_dir, tmp.path() / "previous");  // removed with tmp
  fs::rename(staged, final_dir, ec);
  if (ec) {
    throw std::runtime_error("cannot move the dataset into '" + final_dir.string() +
                             "': " + ec.message());
  }
  return result;
}

#else  // built without libcurl, OpenSSL and libarchive

namespace {
[[noreturn]] void no_download() {
  throw std::runtime_error(
      "this relnet was built without downloading (libcurl, OpenSSL and libarchive were not found; "
      "cmake -DRELNET_WITH_DOWNLOAD=ON needs them): put the dataset's files under the data root by "
      "hand");
}
}  // namespace

std::string md5_hex(const void*, size_t) { no_download(); }
std::string md5_file(const std::string&) { no_download(); }
std::string fetch_url(const std::string&, const std::string&, int64_t, const DownloadProgress&) {
  no_download();
}
void extract_archive(const std::string&, const std::string&) { no_download(); }
DownloadResult download_dataset(const DownloadOptions&, const DownloadProgress&) { no_download(); }

#endif  // RELNET_WITH_DOWNLOAD

}  // namespace relnet
