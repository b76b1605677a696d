// File helpers: whole-file reads with clear errors and atomic writes
// (temporary name + fsync + rename), so a crash never leaves a truncated file.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace relnet {

// Reads a whole file. Throws std::runtime_error naming the path and the
// system's reason when it cannot be opened or read.
std::vector<char> read_file(const std::string& path);

// Writes `size` bytes to `path` atomically: a temporary file in the same
// folder is written, flushed to disk and renamed over `path`. On any failure
// (full disk, read-only folder) the temporary is removed, `path` keeps its
// previous content, and std::runtime_error names the path and the reason.
void write_file_atomic(const std::string& path, const void* data, size_t size);
void write_file_atomic(const std::string& path, const std::string& content);

// A file written piece by piece and made visible only when complete: bytes
// go to `path`.tmp.<pid>; commit() flushes them to disk and renames the
// temporary over `path`. Destroying an uncommitted writer (an exception, a
// stop) removes the temporary, so `path` never holds a partial file. Every
// failure throws std::runtime_error naming `path` and the system's reason.
class AtomicFileWriter {
 public:
  explicit AtomicFileWriter(std::string path);
  ~AtomicFileWriter();
  AtomicFileWriter(const AtomicFileWriter&) = delete;
  AtomicFileWriter& operator=(const AtomicFileWriter&) = delete;

  void write(const void* data, size_t size);
  void commit();
  const std::string& path() const { return path_; }

 private:
  [[noreturn]] void fail(const std::string& what, int err);
  std::string path_, tmp_;
  int fd_ = -1;
};

// A whole file mapped read-only into memory (mmap, MAP_SHARED): pages are
// read from disk when first touched and live in the page cache, where every
// process mapping the same file shares them; the kernel drops and re-reads
// them under memory pressure, so a file larger than memory can be mapped.
// Writing through data() is not allowed (the pages are read-only).
class MappedFile {
 public:
  // Throws std::runtime_error naming `path` when it is not a regular file or
  // cannot be opened or mapped. An empty file maps to data() == nullptr.
  static std::shared_ptr<const MappedFile> open(const std::string& path);
  ~MappedFile();
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;

  const uint8_t* data() const { return data_; }
  size_t size() const { return size_; }
  const std::string& path() const { return path_; }

  // Asks the kernel to start reading [offset, offset + bytes) into the page
  // cache now (madvise WILLNEED, asynchronous); a hint, never fails.
  void will_need(size_t offset, size_t bytes) const;

 private:
  MappedFile(std::string path, uint8_t* data, size_t size)
      : path_(std::move(path)), data_(data), size_(size) {}
  std::string path_;
  uint8_t* data_ = nullptr;
  size_t size_ = 0;
};

// Creates `dir` and its parents; throws std::runtime_error naming it on failure.
void ensure_directory(const std::string& dir);

}  // namespace relnet
