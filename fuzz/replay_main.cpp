// The fuzz targets' replay for the normal build (ctest fuzz_replay.<target>):
// every file of the folders given goes once through the target's
// LLVMFuzzerTestOneInput, compiled into this executable under the name
// relnet_fuzz_<target> (cmake/fuzz.cmake). No fuzzing, no sanitizers: the
// seed corpus and every crash ever found must pass here in seconds.
//
//   relnet_fuzz_replay <target> <folder or file>...
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <exception>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "fuzz_targets.h"  // generated: kFuzzTargets[], each {name, entry point}

namespace {

namespace fs = std::filesystem;

// The files under each argument (a folder, recursively, or a file), sorted;
// a folder that does not exist holds none (a target without regressions).
std::vector<fs::path> inputs(char** args, int count) {
  std::vector<fs::path> out;
  for (int i = 0; i < count; ++i) {
    const fs::path p(args[i]);
    std::error_code ec;
    if (fs::is_regular_file(p, ec)) out.push_back(p);
    if (!fs::is_directory(p, ec)) continue;
    for (const auto& e : fs::recursive_directory_iterator(p)) {
      if (e.is_regular_file() && e.path().filename() != "README.md") out.push_back(e.path());
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

int replay(const FuzzTarget& target, const std::vector<fs::path>& files) {
  for (const auto& file : files) {
    std::ifstream in(file, std::ios::binary);
    const std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(in)),
                                     std::istreambuf_iterator<char>());
    try {
      target.run(bytes.data(), bytes.size());
    } catch (const std::exception& e) {
      std::fprintf(stderr, "fuzz replay %s: '%s' threw an unexpected exception: %s\n", target.name,
                   file.c_str(), e.what());
      return 1;
    }
  }
  std::printf("fuzz replay %s: %zu inputs, no finding\n", target.name, files.size());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: %s <target> <folder or file>...\n", argv[0]);
    return 2;
  }
  const std::string name = argv[1];
  const auto* end = std::end(kFuzzTargets);
  const auto* target = std::find_if(std::begin(kFuzzTargets), end,
                                    [&](const FuzzTarget& t) { return name == t.name; });
  if (target == end) {
    std::fprintf(stderr, "fuzz replay: no target '%s'\n", name.c_str());
    return 2;
  }
  const std::vector<fs::path> files = inputs(argv + 2, argc - 2);
  if (files.empty()) {
    std::fprintf(stderr, "fuzz replay %s: no input files\n", target->name);
    return 1;
  }
  return replay(*target, files);
}
