// Fuzzes archive extraction as `relnet download` runs it: extract_archive
// over the input as a .tar/.tar.gz (any format and filter libarchive reads),
// which checks every entry's name and hard-link target before libarchive
// writes it. Beyond crashes, one property is checked: after extraction,
// successful or refused, nothing exists beside the destination folder, i.e.
// no entry was written outside it.
#include <cstdio>
#include <cstdlib>

#include "fuzz_common.h"
#include "relnet/data/download.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace relnet::fuzz;
  // scratch()/archive/{in.tar.gz, out/}: only these two may exist after.
  const fs::path box = scratch() / "archive";
  const fs::path dest = box / "out";
  fs::remove_all(box);
  fs::create_directories(dest);
  write_bytes(box / "in.tar.gz", data, size);
  run_parser([&] { relnet::extract_archive((box / "in.tar.gz").string(), dest.string()); });
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(box, ec)) {
    const auto name = entry.path().filename();
    if (name != "in.tar.gz" && name != "out") {
      std::fprintf(stderr, "archive_fuzz: '%s' was written outside the destination\n",
                   entry.path().c_str());
      std::abort();
    }
  }
  for (const auto& entry : fs::directory_iterator(scratch(), ec)) {
    if (entry.path().filename() != "archive") {
      std::fprintf(stderr, "archive_fuzz: '%s' was written outside the destination\n",
                   entry.path().c_str());
      std::abort();
    }
  }
  return 0;
}
