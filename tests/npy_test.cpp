// Tests of the .npy preamble writer and reader: shapes of every rank, the
// 64-byte alignment, versions 1-3, and each malformed preamble's message.
#include "relnet/data/npy.h"

#include <gtest/gtest.h>

#include <string>

#include "test_util.h"

namespace relnet {
namespace {

using relnet::testing::error_of;

TEST(NpyTest, PreambleRoundTripsEveryRankAlignedTo64Bytes) {
  for (const auto& shape :
       std::vector<std::vector<int64_t>>{{}, {7}, {2, 3}, {100000, 3, 96, 96}}) {
    for (const std::string descr : {"|u1", "<i8"}) {
      const std::string p = npy_preamble(descr, shape);
      EXPECT_EQ(p.size() % 64, 0u);
      EXPECT_EQ(p.back(), '\n');
      const NpyArray a = parse_npy_preamble(p.data(), p.size(), "x.npy");
      EXPECT_EQ(a.descr, descr);
      EXPECT_EQ(a.shape, shape);
      EXPECT_EQ(a.data_offset, p.size());
    }
  }
  EXPECT_NE(npy_preamble("<i8", {7}).find("'shape': (7,)"), std::string::npos);
  EXPECT_NE(npy_preamble("|u1", {2, 3}).find("'shape': (2, 3)"), std::string::npos);
  EXPECT_EQ((NpyArray{"<i8", {3, 4}, 0}).data_bytes(), 96u);
}

TEST(NpyTest, ReadsVersionTwoAndNumPysKeyOrderAndSpacing) {
  std::string header = "{ \"shape\":(4 ,5),'fortran_order' :False, 'descr':'|u1' }\n";
  std::string v2 = std::string("\x93NUMPY\x02\x00", 8);
  const auto n = static_cast<uint32_t>(header.size());
  for (int i = 0; i < 4; ++i) v2 += static_cast<char>((n >> (8 * i)) & 0xff);
  v2 += header;
  const NpyArray a = parse_npy_preamble(v2.data(), v2.size(), "v2.npy");
  EXPECT_EQ(a.shape, (std::vector<int64_t>{4, 5}));
  EXPECT_EQ(a.data_offset, 12 + header.size());
}

std::string with_header(const std::string& dict) {
  std::string p = std::string("\x93NUMPY\x01\x00", 8);
  p += static_cast<char>(dict.size() & 0xff);
  p += static_cast<char>(dict.size() >> 8);
  return p + dict;
}

std::string parse_error(const std::string& bytes) {
  return error_of([&] { parse_npy_preamble(bytes.data(), bytes.size(), "f.npy"); });
}

TEST(NpyTest, MalformedPreamblesNameTheFileAndTheProblem) {
  EXPECT_EQ(parse_error("PK\x03\x04 a zip file"),
            "f.npy: not a .npy file (no \\x93NUMPY magic at its start)");
  EXPECT_EQ(parse_error(std::string("\x93NUMPY\x09\x00", 8)),
            "f.npy: .npy version 9 is not one relnet reads (1, 2, 3)");
  EXPECT_EQ(parse_error(std::string("\x93NUMPY\x01\x00\xff\x00{'descr'", 17)),
            "f.npy: truncated inside its .npy header (255 bytes announced, 7 present)");
  EXPECT_EQ(parse_error(with_header("{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }")),
            "f.npy: unsupported dtype '<f4' (relnet reads '|u1' uint8 and '<i8' int64)");
  EXPECT_EQ(
      parse_error(with_header("{'descr': '|u1', 'fortran_order': True, 'shape': (2,), }")),
      "f.npy: not a .npy file relnet reads: is in Fortran order; relnet reads C-order arrays only");
  EXPECT_EQ(
      parse_error(with_header("{'descr': '|u1', 'shape': (2,), }")),
      "f.npy: not a .npy file relnet reads: header lacks one of 'descr', 'fortran_order', 'shape'");
  EXPECT_EQ(parse_error(with_header("{'descr': '|u1', 'fortran_order': False, 'shape': (-2,), }")),
            "f.npy: not a .npy file relnet reads: has a malformed shape");
  EXPECT_EQ(parse_error(with_header(
                "{'descr': '|u1', 'fortran_order': False, 'shape': (99999999999999999999,), }")),
            "f.npy: not a .npy file relnet reads: has a dimension too large for int64");
  EXPECT_EQ(parse_error(with_header("{'descr': '|u1', 'fortran_order': False, 'shape': (2,")),
            "f.npy: not a .npy file relnet reads: has a malformed shape");
}

}  // namespace
}  // namespace relnet
