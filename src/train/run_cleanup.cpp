// Run directory cleanup on start and resume: stale temporaries, metrics
// records beyond the resumed checkpoint.
#include "relnet/train/run_cleanup.h"

#include <signal.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <stdexcept>

#include "relnet/util/fs.h"

namespace relnet {
namespace {

namespace fs = std::filesystem;

// The pid of a temporary's name `<name>.tmp.<digits>`, or -1.
long temporary_pid(const std::string& name) {
  const auto at = name.rfind(".tmp.");
  if (at == std::string::npos || at == 0) return -1;
  const std::string digits = name.substr(at + 5);
  if (digits.empty() || digits.size() > 9 ||
      digits.find_first_not_of("0123456789") != std::string::npos) {
    return -1;
  }
  return std::stol(digits);
}

bool process_alive(long pid) {
  if (pid <= 0) return true;  // never a process of ours: leave the file
  return ::kill(static_cast<pid_t>(pid), 0) == 0 || errno != ESRCH;
}

// Whether the record lies past the resumed position (see the header).
bool past(const nlohmann::json& r, int64_t epochs_done, int64_t steps_done) {
  if (!r.is_object() || !r.contains("epoch") || !r["epoch"].is_number_integer()) return false;
  const std::string kind = r.value("kind", "");
  const int64_t epoch = r["epoch"].get<int64_t>();
  if (kind == "epoch") return epoch > epochs_done;
  if (kind != "step") return false;
  if (epoch != epochs_done + 1) return epoch > epochs_done + 1;
  return r.contains("step") && r["step"].is_number_integer() &&
         r["step"].get<int64_t>() > steps_done;
}

}  // namespace

std::vector<std::string> remove_stale_temporaries(const std::string& dir) {
  std::vector<std::string> removed;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    const long pid = temporary_pid(entry.path().filename().string());
    if (pid < 0 || pid == static_cast<long>(::getpid()) || process_alive(pid)) continue;
    std::error_code rm;
    if (!entry.is_regular_file(rm) || !fs::remove(entry.path(), rm)) {
      if (rm)
        spdlog::warn("could not remove the stale '{}': {}", entry.path().string(), rm.message());
      continue;
    }
    removed.push_back(entry.path().string());
  }
  return removed;
}

int64_t drop_metrics_after(const std::string& path, int64_t epochs_done, int64_t steps_done) {
  std::error_code ec;
  if (!fs::exists(path, ec)) return 0;
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot open '" + path + "'");
  std::string kept, line;
  int64_t dropped = 0, number = 0;
  while (std::getline(in, line)) {
    ++number;
    if (line.empty()) continue;
    nlohmann::json record;
    try {
      record = nlohmann::json::parse(line);
    } catch (const nlohmann::json::exception& e) {
      if (in.eof()) {  // a last line cut short by a crash mid-write
        ++dropped;
        break;
      }
      throw std::runtime_error("'" + path + "' line " + std::to_string(number) +
                               " is not JSON: " + e.what());
    }
    if (past(record, epochs_done, steps_done)) {
      ++dropped;
    } else {
      kept += line + "\n";
    }
  }
  if (dropped > 0) write_file_atomic(path, kept);
  return dropped;
}

}  // namespace relnet
