// NumPy's .npy format, the part relnet writes and reads: version 1-3
// preambles, C order, the dtypes uint8 ('|u1') and little-endian int64
// ('<i8'). A pack's arrays are .npy files so `numpy.load(f, mmap_mode="r")`
// opens them as they are.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace relnet {

// An array's description from its preamble.
struct NpyArray {
  std::string descr;           // dtype, e.g. "|u1", "<i8"
  std::vector<int64_t> shape;  // C order
  size_t data_offset = 0;      // bytes from the start of the file to the data
  // Bytes of data the shape and dtype call for.
  uint64_t data_bytes() const;
};

// Bytes per element of `descr`: 1 for "|u1", 8 for "<i8"; throws
// std::invalid_argument for any other dtype.
size_t npy_item_size(const std::string& descr);

// The preamble of a version 1.0 .npy file holding `shape` elements of
// `descr` in C order: magic, version, header length and the header dict,
// padded with spaces to a multiple of 64 bytes (NumPy's alignment), so the
// data that follows starts 64-byte aligned.
std::string npy_preamble(const std::string& descr, const std::vector<int64_t>& shape);

// Parses the preamble at the start of `bytes` (`size` bytes available).
// Throws std::runtime_error starting with `path` when the magic, version,
// header length or dict is malformed, the dtype is not one relnet reads,
// the array is in Fortran order or a dimension is negative.
NpyArray parse_npy_preamble(const char* bytes, size_t size, const std::string& path);

}  // namespace relnet
