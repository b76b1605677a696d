// Tests of the download building blocks that need no network: MD5, the
// source table, transfers from file:// URLs (including a full disk), and
// archive extraction (including entries that try to leave the folder). The
// HTTP cases run against a loopback server in tests/smoke/download.sh.
#include "relnet/data/download.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "test_util.h"

namespace relnet {
namespace {

namespace fs = std::filesystem;
using relnet::testing::error_of;
using relnet::testing::TempDir;

void write_text(const std::string& path, const std::string& text) {
  std::ofstream(path, std::ios::binary) << text;
}

std::string read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

TEST(DownloadTest, Md5MatchesKnownDigests) {
  if (!download_available()) GTEST_SKIP() << "built without download support";
  EXPECT_EQ(md5_hex("", 0), "d41d8cd98f00b204e9800998ecf8427e");
  EXPECT_EQ(md5_hex("abc", 3), "900150983cd24fb0d6963f7d28e17f72");
  TempDir dir("md5");
  write_text(dir / "f", "The quick brown fox jumps over the lazy dog");
  EXPECT_EQ(md5_file(dir / "f"), "9e107d9d372bb6826bd81d3542a419d6");
  EXPECT_EQ(error_of([&] { md5_file(dir / "absent"); }),
            "cannot open '" + dir / "absent" + "' to checksum it");
}

TEST(DownloadTest, SourcesCarryTheOfficialChecksums) {
  if (!download_available()) GTEST_SKIP() << "built without download support";
  EXPECT_EQ(download_source("cifar10").files.at(0).md5, "c32a1d4ab5d03f1284b67883e8d87530");
  EXPECT_EQ(download_source("cifar100").files.at(0).md5, "03b5dce01913d631647c71ecec9e9cb8");
  EXPECT_EQ(download_source("stl10").files.at(0).md5, "91f7769df0f17e558f3565bffb0c7dfb");
  EXPECT_EQ(download_source("fashion_mnist").files.size(), 4u);
  EXPECT_EQ(download_source("mnist").folder, "mnist");
  EXPECT_EQ(
      error_of([] { download_source("svhn"); }),
      "cannot download 'svhn' (downloadable: cifar10, cifar100, stl10, fashion_mnist, mnist)");
}

TEST(DownloadTest, FetchReturnsTheMd5OfWhatArrived) {
  if (!download_available()) GTEST_SKIP() << "built without download support";
  TempDir dir("fetch");
  const std::string content(300000, 'x');
  write_text(dir / "src.bin", content);
  int64_t last = 0;
  const std::string md5 = fetch_url("file://" + dir / "src.bin", dir / "dst.bin", 10,
                                    [&](const std::string&, int64_t now, int64_t) { last = now; });
  EXPECT_EQ(md5, md5_hex(content.data(), content.size()));
  EXPECT_EQ(read_text(dir / "dst.bin"), content);
  EXPECT_EQ(last, 300000);
}

TEST(DownloadTest, AFullDiskIsReportedByName) {
  if (!download_available()) GTEST_SKIP() << "built without download support";
  if (!fs::exists("/dev/full")) GTEST_SKIP() << "/dev/full is not available";
  TempDir dir("full");
  write_text(dir / "src.bin", std::string(1 << 20, 'y'));
  EXPECT_EQ(error_of([&] { fetch_url("file://" + dir / "src.bin", "/dev/full", 10); }),
            "cannot write '/dev/full': No space left on device");
}

// Builds a .tar.gz with the given member names (each holding its own name)
// with Python's tarfile.
void make_tar(const std::string& path, const std::vector<std::string>& names) {
  std::string cmd =
      std::string(RELNET_PYTHON) +
      " -c \"import io,sys,tarfile\n"
      "t=tarfile.open(sys.argv[1],'w:gz')\n"
      "for n in sys.argv[2:]:\n"
      "  d=n.encode(); i=tarfile.TarInfo(n); i.size=len(d); t.addfile(i,io.BytesIO(d))\n"
      "t.close()\" '" +
      path + "'";
  for (const auto& n : names) cmd += " '" + n + "'";
  ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
}

TEST(DownloadTest, ExtractsAnArchiveIntoTheFolder) {
  if (!download_available()) GTEST_SKIP() << "built without download support";
  TempDir dir("extract");
  make_tar(dir / "a.tar.gz", {"top/one.bin", "top/sub/two.bin"});
  fs::create_directories(dir / "out");
  extract_archive(dir / "a.tar.gz", dir / "out");
  EXPECT_EQ(read_text(dir / "out/top/one.bin"), "top/one.bin");
  EXPECT_EQ(read_text(dir / "out/top/sub/two.bin"), "top/sub/two.bin");
}

TEST(DownloadTest, RefusesEntriesThatLeaveTheFolder) {
  if (!download_available()) GTEST_SKIP() << "built without download support";
  TempDir dir("extract");
  make_tar(dir / "evil.tar.gz", {"top/ok.bin", "../escaped.bin"});
  fs::create_directories(dir / "out");
  EXPECT_EQ(error_of([&] { extract_archive(dir / "evil.tar.gz", dir / "out"); }),
            "archive '" + dir / "evil.tar.gz" +
                "': entry '../escaped.bin' would be written outside '" + dir / "out" + "'");
  EXPECT_FALSE(fs::exists(dir / "escaped.bin"));
}

// A .tar.gz of one regular file "top/one.bin" and one link entry `name`:
// a symbolic link (`hard` false) or a hard link to `target`.
void make_tar_with_link(const std::string& path, const std::string& name, const std::string& target,
                        bool hard) {
  const std::string cmd =
      std::string(RELNET_PYTHON) +
      " -c \"import io,sys,tarfile\n"
      "t=tarfile.open(sys.argv[1],'w:gz')\n"
      "i=tarfile.TarInfo('top/one.bin'); i.size=3; t.addfile(i,io.BytesIO(b'one'))\n"
      "i=tarfile.TarInfo(sys.argv[2]); i.type=tarfile.LNKTYPE if sys.argv[4]=='1' else "
      "tarfile.SYMTYPE; i.linkname=sys.argv[3]; t.addfile(i)\n"
      "t.close()\" '" +
      path + "' '" + name + "' '" + target + "' " + (hard ? "1" : "0");
  ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
}

// Links are refused whatever they point at: a dataset file that is a link
// to /etc/passwd would be read as data.
TEST(DownloadTest, RefusesLinksInsideOrOutsideTheFolder) {
  if (!download_available()) GTEST_SKIP() << "built without download support";
  TempDir dir("extract_links");
  const std::string what = "archive '" + dir / "l.tar.gz" + "': entry ";
  make_tar_with_link(dir / "l.tar.gz", "top/data.bin", "/etc/passwd", false);
  fs::create_directories(dir / "out1");
  EXPECT_EQ(error_of([&] { extract_archive(dir / "l.tar.gz", dir / "out1"); }),
            what +
                "'top/data.bin' is a symbolic link to '/etc/passwd'; only regular files are "
                "installed, nothing was installed");
  EXPECT_FALSE(fs::exists(fs::symlink_status(dir / "out1/top/data.bin")));
  make_tar_with_link(dir / "l.tar.gz", "top/data.bin", "one.bin", false);
  fs::create_directories(dir / "out2");
  EXPECT_EQ(error_of([&] { extract_archive(dir / "l.tar.gz", dir / "out2"); }),
            what +
                "'top/data.bin' is a symbolic link to 'one.bin'; only regular files are "
                "installed, nothing was installed");
  make_tar_with_link(dir / "l.tar.gz", "top/data.bin", "top/one.bin", true);
  fs::create_directories(dir / "out3");
  EXPECT_EQ(error_of([&] { extract_archive(dir / "l.tar.gz", dir / "out3"); }),
            what +
                "'top/data.bin' is a hard link to 'top/one.bin'; only regular files are "
                "installed, nothing was installed");
}

TEST(DownloadTest, CompleteOnlyWithEveryFileAtItsSize) {
  TempDir dir("complete");
  write_text(dir / "a.bin", "abc");
  write_text(dir / "b.bin", "abcd");
  EXPECT_EQ(why_incomplete(dir.str(), {{"a.bin", 3}, {"b.bin", 4}}), "");
  EXPECT_EQ(why_incomplete(dir.str(), {{"a.bin", 3}, {"c.bin", 4}}),
            "'" + dir / "c.bin" + "' is missing");
  EXPECT_EQ(why_incomplete(dir.str(), {{"b.bin", 5}}),
            "'" + dir / "b.bin" + "' has 4 bytes, expected 5");
  fs::create_symlink(dir / "a.bin", dir / "link.bin");
  EXPECT_EQ(why_incomplete(dir.str(), {{"link.bin", 3}}),
            "'" + dir / "link.bin" + "' is a symbolic link");
  fs::create_directories(dir / "d.bin");
  EXPECT_EQ(why_incomplete(dir.str(), {{"d.bin", 3}}),
            "'" + dir / "d.bin" + "' is not a regular file");
}

TEST(DownloadTest, ADamagedArchiveIsNamed) {
  if (!download_available()) GTEST_SKIP() << "built without download support";
  TempDir dir("extract");
  make_tar(dir / "a.tar.gz", {"top/one.bin"});
  std::string bytes = read_text(dir / "a.tar.gz");
  write_text(dir / "cut.tar.gz", bytes.substr(0, bytes.size() / 2));
  fs::create_directories(dir / "out");
  const std::string error = error_of([&] { extract_archive(dir / "cut.tar.gz", dir / "out"); });
  EXPECT_EQ(error.rfind("archive '" + dir / "cut.tar.gz" + "'", 0), 0u) << error;
}

}  // namespace
}  // namespace relnet
