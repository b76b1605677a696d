// `relnet download`: fetches a dataset's official files with libcurl,
// verifies their MD5 (OpenSSL), extracts archives with libarchive, and only
// then moves the dataset into place. Nothing is written under the final name
// unless every checksum matched; a failure leaves no partial dataset.
#pragma once

#include <cstdint>
#include <functional>
#include <stdexcept>
#include <string>
#include <vector>

namespace relnet {

// One file of a dataset's official distribution.
struct RemoteFile {
  std::string name;  // file name, appended to the base URL
  std::string md5;   // lowercase hex
};

// Where a dataset comes from and where it ends up under the data root.
struct DatasetSource {
  std::string dataset;   // registry name, e.g. "cifar10"
  std::string base_url;  // official location, ending in '/'
  std::vector<RemoteFile> files;
  bool archive = false;  // files[0] is a .tar.gz to extract
  std::string folder;    // folder created under the root
  // Files inside `folder` and their exact sizes, for recognising a complete
  // copy that was put there by hand (archives only).
  std::vector<std::pair<std::string, int64_t>> expected_sizes;
};

// Datasets relnet can download: cifar10, cifar100, stl10, fashion_mnist, mnist.
const std::vector<DatasetSource>& download_sources();

// True when relnet was built with downloading (libcurl, OpenSSL, libarchive);
// without it the functions below throw std::runtime_error saying so.
bool download_available();

// The source of `dataset`; throws std::invalid_argument listing the choices.
const DatasetSource& download_source(const std::string& dataset);

// Thrown when a transfer is stopped by SIGINT/SIGTERM.
struct DownloadInterrupted : std::runtime_error {
  using std::runtime_error::runtime_error;
};

struct DownloadOptions {
  std::string dataset;
  std::string root = "data";
  // Base URL of a mirror holding the official file names (empty = official).
  std::string url;
  // Expected MD5 of a single-file dataset's file (empty = the official one);
  // for mirrors that repackage the archive.
  std::string md5;
  // Seconds without progress before the transfer is abandoned.
  int64_t timeout_s = 60;
};

struct DownloadResult {
  bool already_present = false;
  std::string folder;  // root/<folder>
  int64_t bytes = 0;   // bytes transferred
};

// Called during a transfer with (file name, bytes so far, total or 0 if unknown).
using DownloadProgress = std::function<void(const std::string&, int64_t, int64_t)>;

// Downloads, verifies and installs a dataset under options.root. When the
// dataset is already there and intact, does nothing and says so. Throws
// std::runtime_error with one clear line on network failure, HTTP error,
// checksum mismatch, extraction or write failure (naming URL or path), and
// DownloadInterrupted when a stop was requested; temporary files are removed
// in every case.
DownloadResult download_dataset(const DownloadOptions& options,
                                const DownloadProgress& progress = {});

// Fetches `url` into `path` (created or truncated); returns the MD5 of the
// bytes received. Throws as download_dataset.
std::string fetch_url(const std::string& url, const std::string& path, int64_t timeout_s,
                      const DownloadProgress& progress = {});

// MD5 of a file's content, lowercase hex. Throws naming the file.
std::string md5_file(const std::string& path);

// MD5 of bytes, lowercase hex.
std::string md5_hex(const void* data, size_t size);

// Extracts a .tar/.tar.gz archive into `dest` (which must exist). Only
// regular files and folders are extracted: entries with absolute paths or
// "..", symbolic and hard links, devices and FIFOs are refused. Throws
// std::runtime_error naming the archive and the entry.
void extract_archive(const std::string& archive, const std::string& dest);

// Why `folder` does not hold every one of `expected` (name, size in bytes)
// as a regular file (not a link) of that size: "'<path>' is missing", "'<path>'
// is a symbolic link", "'<path>' has 12 bytes, expected 30730000"; "" when
// it does. A download is installed only when this is "".
std::string why_incomplete(const std::string& folder,
                           const std::vector<std::pair<std::string, int64_t>>& expected);

}  // namespace relnet
