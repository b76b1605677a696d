#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "relnet/util/fs.h"
#include "relnet/util/json.h"
#include "relnet/util/metrics.h"
#include "relnet/util/rng.h"
#include "test_util.h"

namespace relnet {
namespace {

using relnet::testing::TempDir;

TEST(RngTest, SameSeedGivesTheSameStream) {
  Rng a(42), b(42), c(43);
  bool differs = false;
  for (int i = 0; i < 1000; ++i) {
    const uint64_t x = a.next_u64();
    EXPECT_EQ(x, b.next_u64());
    differs = differs || x != c.next_u64();
  }
  EXPECT_TRUE(differs);
  EXPECT_NE(derive_seed({1, 2, 3}), derive_seed({1, 3, 2}));
}

TEST(RngTest, DrawsStayInTheirRanges) {
  Rng r(1);
  for (int i = 0; i < 10000; ++i) {
    const double u = r.uniform();
    EXPECT_GE(u, 0.0);
    EXPECT_LT(u, 1.0);
    const int64_t k = r.randint(-3, 3);
    EXPECT_GE(k, -3);
    EXPECT_LE(k, 3);
  }
}

TEST(RngTest, BelowIsRoughlyUniform) {
  Rng r(7);
  std::vector<int> counts(6);
  for (int i = 0; i < 60000; ++i) ++counts[r.below(6)];
  for (int c : counts) EXPECT_NEAR(c, 10000, 400);
}

TEST(FsTest, AtomicWriteReplacesContentAndLeavesNoTemporary) {
  TempDir dir("fs");
  write_file_atomic(dir / "a.txt", std::string("first"));
  write_file_atomic(dir / "a.txt", std::string("second"));
  const auto bytes = read_file(dir / "a.txt");
  EXPECT_EQ(std::string(bytes.begin(), bytes.end()), "second");
  int files = 0;
  for (const auto& e : std::filesystem::directory_iterator(dir.str())) ++files, (void)e;
  EXPECT_EQ(files, 1);
  EXPECT_THROW(write_file_atomic(dir / "missing/a.txt", std::string("x")), std::runtime_error);
  EXPECT_THROW(read_file(dir / "nope"), std::runtime_error);
}

TEST(FsTest, AnUncommittedWriterLeavesNothingAndACommittedOneReplaces) {
  TempDir dir("fs_writer");
  write_file_atomic(dir / "a.bin", std::string("old"));
  {
    AtomicFileWriter w(dir / "a.bin");
    w.write("new", 3);
  }  // destroyed without commit: an exception or a stop
  auto bytes = read_file(dir / "a.bin");
  EXPECT_EQ(std::string(bytes.begin(), bytes.end()), "old");
  AtomicFileWriter w(dir / "a.bin");
  w.write("ne", 2);
  w.write("w!", 2);
  w.commit();
  bytes = read_file(dir / "a.bin");
  EXPECT_EQ(std::string(bytes.begin(), bytes.end()), "new!");
  int files = 0;
  for (const auto& e : std::filesystem::directory_iterator(dir.str())) ++files, (void)e;
  EXPECT_EQ(files, 1);
}

TEST(FsTest, MappedFileSeesTheBytesAndRefusesWhatIsNotAFile) {
  TempDir dir("fs_map");
  write_file_atomic(dir / "m.bin", std::string("mapped bytes"));
  const auto m = MappedFile::open(dir / "m.bin");
  ASSERT_EQ(m->size(), 12u);
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(m->data()), m->size()), "mapped bytes");
  m->will_need(3, 100);  // a hint past the end is clipped, not an error
  write_file_atomic(dir / "empty", std::string());
  EXPECT_EQ(MappedFile::open(dir / "empty")->data(), nullptr);
  EXPECT_EQ(relnet::testing::error_of([&] { MappedFile::open(dir.str()); }),
            "'" + dir.str() + "' is not a regular file");
  EXPECT_NE(
      relnet::testing::error_of([&] { MappedFile::open(dir / "none"); }).find("cannot open '"),
      std::string::npos);
}

// JSON from outside is parsed with a bound on its nesting: as deep as
// kMaxJsonDepth parses, one level more is refused before anything recursive
// (printing, comparing) touches it; malformed text still throws parse_error.
TEST(JsonTest, ParsesUpToTheDepthBoundAndRefusesBeyondIt) {
  const auto nested = [](int levels) {
    return std::string(levels, '[') + std::string(levels, ']');
  };
  EXPECT_EQ(parse_json(nested(kMaxJsonDepth)).dump(), nested(kMaxJsonDepth));
  std::istringstream in(R"({"a": [1, {"b": null}]})");
  EXPECT_EQ(parse_json(in).dump(), R"({"a":[1,{"b":null}]})");
  EXPECT_THROW(parse_json(nested(kMaxJsonDepth + 1)), JsonTooDeep);
  EXPECT_THROW(parse_json(nested(1000000)), JsonTooDeep);
  std::string objects;
  for (int i = 0; i <= kMaxJsonDepth; ++i) objects += R"({"k":)";
  objects += "0" + std::string(kMaxJsonDepth + 1, '}');
  EXPECT_THROW(parse_json(objects), JsonTooDeep);
  EXPECT_THROW(parse_json("[1,"), nlohmann::json::parse_error);
  EXPECT_THROW(parse_json("1e999"), nlohmann::json::out_of_range);
}

TEST(MetricsTest, WritesOneJsonObjectPerLine) {
  TempDir dir("metrics");
  {
    MetricsWriter w(dir / "m.jsonl", false);
    w.write({{"loss", 0.5}});
    w.write({{"loss", 0.25}});
  }
  {
    MetricsWriter w(dir / "m.jsonl", true);
    w.write({{"loss", 0.125}});
  }
  const auto recs = read_jsonl(dir / "m.jsonl");
  ASSERT_EQ(recs.size(), 3u);
  EXPECT_EQ(recs[2]["loss"], 0.125);
}

TEST(MetricsTest, FormatsDurations) {
  EXPECT_EQ(format_duration(42.4), "42s");
  EXPECT_EQ(format_duration(185), "3m05s");
  EXPECT_EQ(format_duration(7260), "2h01m");
  EXPECT_EQ(format_duration(-1), "?");
}

}  // namespace
}  // namespace relnet
