// .npy preambles: writing version 1.0 and reading versions 1.0-3.0.
#include "relnet/data/npy.h"

#include <cctype>
#include <cstring>
#include <limits>
#include <stdexcept>

namespace relnet {

namespace {

constexpr char kMagic[] = "\x93NUMPY";
constexpr size_t kMagicSize = 6;

// A reader of the header dict: {'descr': '<i8', 'fortran_order': False,
// 'shape': (3, 4), } with keys in any order, as NumPy writes it.
class DictReader {
 public:
  DictReader(const std::string& text, const std::string& path) : s_(text), path_(path) {}

  NpyArray read() {
    NpyArray a;
    bool have_descr = false, have_order = false, have_shape = false;
    expect('{');
    while (true) {
      skip_space();
      if (peek() == '}') break;
      const std::string key = quoted();
      expect(':');
      if (key == "descr") {
        a.descr = quoted();
        have_descr = true;
      } else if (key == "fortran_order") {
        if (word() != "False") fail("is in Fortran order; relnet reads C-order arrays only");
        have_order = true;
      } else if (key == "shape") {
        a.shape = tuple();
        have_shape = true;
      } else {
        fail("has an unknown header key '" + key + "'");
      }
      skip_space();
      if (peek() == ',') ++i_;
    }
    if (!have_descr || !have_order || !have_shape) {
      fail("header lacks one of 'descr', 'fortran_order', 'shape'");
    }
    return a;
  }

 private:
  [[noreturn]] void fail(const std::string& what) const {
    throw std::runtime_error(path_ + ": not a .npy file relnet reads: " + what);
  }
  char peek() const { return i_ < s_.size() ? s_[i_] : '\0'; }
  void skip_space() {
    while (i_ < s_.size() && std::isspace(static_cast<unsigned char>(s_[i_]))) ++i_;
  }
  void expect(char c) {
    skip_space();
    if (peek() != c) fail(std::string("malformed header dict (expected '") + c + "')");
    ++i_;
  }
  std::string quoted() {
    skip_space();
    const char q = peek();
    if (q != '\'' && q != '"') fail("malformed header dict (expected a quoted string)");
    const size_t end = s_.find(q, i_ + 1);
    if (end == std::string::npos) fail("malformed header dict (unterminated string)");
    std::string out = s_.substr(i_ + 1, end - i_ - 1);
    i_ = end + 1;
    return out;
  }
  std::string word() {
    skip_space();
    const size_t begin = i_;
    while (i_ < s_.size() && std::isalpha(static_cast<unsigned char>(s_[i_]))) ++i_;
    return s_.substr(begin, i_ - begin);
  }
  std::vector<int64_t> tuple() {
    expect('(');
    std::vector<int64_t> dims;
    while (true) {
      skip_space();
      if (peek() == ')') break;
      if (!std::isdigit(static_cast<unsigned char>(peek()))) fail("has a malformed shape");
      uint64_t v = 0;
      while (std::isdigit(static_cast<unsigned char>(peek()))) {
        const uint64_t digit = static_cast<uint64_t>(peek() - '0');
        if (v > (static_cast<uint64_t>(std::numeric_limits<int64_t>::max()) - digit) / 10) {
          fail("has a dimension too large for int64");
        }
        v = v * 10 + digit;
        ++i_;
      }
      dims.push_back(static_cast<int64_t>(v));
      skip_space();
      if (peek() == ',') ++i_;
    }
    ++i_;
    return dims;
  }

  const std::string& s_;
  const std::string& path_;
  size_t i_ = 0;
};

uint32_t little_endian(const char* p, size_t bytes) {
  uint32_t v = 0;
  for (size_t i = 0; i < bytes; ++i)
    v |= static_cast<uint32_t>(static_cast<uint8_t>(p[i])) << (8 * i);
  return v;
}

}  // namespace

size_t npy_item_size(const std::string& descr) {
  if (descr == "|u1") return 1;
  if (descr == "<i8") return 8;
  throw std::invalid_argument("dtype '" + descr + "' (relnet reads '|u1' uint8 and '<i8' int64)");
}

uint64_t NpyArray::data_bytes() const {
  uint64_t n = npy_item_size(descr);
  for (const int64_t d : shape) {
    if (d != 0 && n > std::numeric_limits<uint64_t>::max() / static_cast<uint64_t>(d)) {
      throw std::overflow_error("array of shape larger than 2^64 bytes");
    }
    n *= static_cast<uint64_t>(d);
  }
  return n;
}

std::string npy_preamble(const std::string& descr, const std::vector<int64_t>& shape) {
  npy_item_size(descr);  // throws for a dtype relnet does not write
  std::string dims;      // Python's tuple: (), (3,), (3, 4)
  for (size_t i = 0; i < shape.size(); ++i) dims += (i ? ", " : "") + std::to_string(shape[i]);
  if (shape.size() == 1) dims += ",";
  std::string header =
      "{'descr': '" + descr + "', 'fortran_order': False, 'shape': (" + dims + "), }";
  const size_t fixed = kMagicSize + 2 + 2;  // magic, version, uint16 length
  const size_t total = (fixed + header.size() + 1 + 63) / 64 * 64;
  header.append(total - fixed - header.size() - 1, ' ');
  header += '\n';
  std::string out(kMagic, kMagicSize);
  out += '\x01';
  out += '\x00';
  out += static_cast<char>(header.size() & 0xff);
  out += static_cast<char>((header.size() >> 8) & 0xff);
  return out + header;
}

NpyArray parse_npy_preamble(const char* bytes, size_t size, const std::string& path) {
  if (size < kMagicSize + 2 || std::memcmp(bytes, kMagic, kMagicSize) != 0) {
    throw std::runtime_error(path + ": not a .npy file (no \\x93NUMPY magic at its start)");
  }
  const int major = static_cast<uint8_t>(bytes[kMagicSize]);
  if (major < 1 || major > 3) {
    throw std::runtime_error(path + ": .npy version " + std::to_string(major) +
                             " is not one relnet reads (1, 2, 3)");
  }
  const size_t length_bytes = major == 1 ? 2 : 4;
  const size_t fixed = kMagicSize + 2 + length_bytes;
  if (size < fixed) throw std::runtime_error(path + ": truncated inside its .npy preamble");
  const size_t header_len = little_endian(bytes + kMagicSize + 2, length_bytes);
  if (size - fixed < header_len) {
    throw std::runtime_error(path + ": truncated inside its .npy header (" +
                             std::to_string(header_len) + " bytes announced, " +
                             std::to_string(size - fixed) + " present)");
  }
  const std::string header(bytes + fixed, header_len);
  NpyArray a = DictReader(header, path).read();
  try {
    npy_item_size(a.descr);
  } catch (const std::invalid_argument& e) {
    throw std::runtime_error(path + ": unsupported " + e.what());
  }
  a.data_offset = fixed + header_len;
  return a;
}

}  // namespace relnet
