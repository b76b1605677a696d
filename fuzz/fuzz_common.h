// Shared by the fuzz targets (fuzz/*_fuzz.cpp): a scratch folder for the
// files a parser reads from disk, a reader of the few control bytes a target
// takes from the front of its input, and the one rule of what a parser may
// throw. A parser answers bad bytes with std::runtime_error or
// std::invalid_argument (and their subclasses); anything else escaping it --
// another exception, a crash, a sanitizer report -- is a finding.
#pragma once

#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>

namespace relnet::fuzz {

namespace fs = std::filesystem;

// A folder of this process under $TMPDIR (or /tmp), created on first use
// and removed when the process exits normally.
inline const fs::path& scratch() {
  static std::string* dir = nullptr;
  static const fs::path path = [] {
    std::string name = (fs::temp_directory_path() / "relnet-fuzz-XXXXXX").string();
    if (::mkdtemp(name.data()) == nullptr) {
      std::perror("relnet fuzz: mkdtemp");
      std::abort();
    }
    dir = new std::string(name);  // outlives `path`, for the exit handler
    std::atexit([] {
      std::error_code ec;
      fs::remove_all(*dir, ec);
    });
    return fs::path(name);
  }();
  return path;
}

// Writes `size` bytes to `path`, replacing it; aborts when it cannot (the
// machine's fault, not the parser's).
inline void write_bytes(const fs::path& path, const uint8_t* data, size_t size) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
  out.close();
  if (!out) {
    std::fprintf(stderr, "relnet fuzz: cannot write '%s'\n", path.c_str());
    std::abort();
  }
}

// The input as control bytes taken from its front, then the rest as the
// bytes a parser reads.
class Input {
 public:
  Input(const uint8_t* data, size_t size) : data_(data), size_(size) {}
  // The next control byte, or 0 once the input is used up.
  uint8_t byte() {
    if (size_ == 0) return 0;
    --size_;
    return *data_++;
  }
  const uint8_t* data() const { return data_; }
  size_t size() const { return size_; }
  std::string rest() const { return std::string(reinterpret_cast<const char*>(data_), size_); }

 private:
  const uint8_t* data_;
  size_t size_;
};

// Runs `parse`; success and relnet's normal refusals (std::runtime_error,
// std::invalid_argument) are both fine. Any other exception propagates,
// which libFuzzer (and the replay) report as a finding.
template <class Parse>
int run_parser(Parse&& parse) {
  try {
    parse();
  } catch (const std::runtime_error&) {
  } catch (const std::invalid_argument&) {
  }
  return 0;
}

}  // namespace relnet::fuzz
