// Fuzzes the config parsers: the input as a config file (load_config: JSON
// syntax, nesting depth, every key's type, range and cross-key constraints)
// and, line by line, as `--set section.key=value` overrides applied to the
// defaults (apply_overrides: the value parsed as JSON or taken as a string).
#include <sstream>
#include <string>
#include <vector>

#include "fuzz_common.h"
#include "relnet/config.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace relnet::fuzz;
  const fs::path path = scratch() / "config.json";
  write_bytes(path, data, size);
  run_parser([&] { relnet::load_config(path.string()); });

  std::vector<std::string> assignments;
  std::istringstream lines(std::string(reinterpret_cast<const char*>(data), size));
  for (std::string line; std::getline(lines, line);) assignments.push_back(line);
  run_parser([&] {
    relnet::Config config;
    relnet::apply_overrides(config, assignments);
  });
  return 0;
}
