// Machine-readable metrics: one JSON object per line (JSONL), flushed after
// every record so a crash loses at most the line being written.
#pragma once

#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace relnet {

class MetricsWriter {
 public:
  // Opens `path` for appending (`append`) or truncates it. Throws
  // std::runtime_error naming the path when it cannot be opened.
  MetricsWriter(const std::string& path, bool append);
  // Writes `record` as one line and flushes; throws naming the path on failure.
  void write(const nlohmann::json& record);

 private:
  std::string path_;
  std::ofstream out_;
};

// Reads every record of a JSONL file; throws naming the path and line number
// when a line is not JSON.
std::vector<nlohmann::json> read_jsonl(const std::string& path);

// "42s", "3m05s", "2h01m": a compact duration for progress lines.
std::string format_duration(double seconds);

}  // namespace relnet
