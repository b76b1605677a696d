// `relnet download`: checksum-verified dataset download.
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>

#include "commands.h"
#include "relnet/data/download.h"

namespace relnet::cli {
namespace {

std::string megabytes(int64_t bytes) {
  char text[32];
  std::snprintf(text, sizeof text, "%.1f MB", static_cast<double>(bytes) / 1e6);
  return text;
}

// A one-line bar on a terminal, a line every 5 s otherwise.
DownloadProgress make_progress(bool quiet) {
  if (quiet) return {};
  const bool tty = ::isatty(fileno(stderr)) != 0;
  using Clock = std::chrono::steady_clock;
  auto start = std::make_shared<Clock::time_point>(Clock::now());
  auto last = std::make_shared<Clock::time_point>(Clock::now());
  auto current = std::make_shared<std::string>();
  auto finished = std::make_shared<bool>(false);
  // curl reports progress many times per second, also after the last byte:
  // draw at most every 100 ms (5 s off a terminal) and the end once.
  return
      [tty, start, last, current, finished](const std::string& name, int64_t now, int64_t total) {
        const auto t = Clock::now();
        if (name != *current) {
          *current = name;
          *start = t;
          *finished = false;
        }
        if (*finished) return;
        const double elapsed = std::chrono::duration<double>(t - *start).count();
        const double rate = elapsed > 0 ? now / elapsed : 0;
        const bool done = total > 0 && now >= total;
        if (done) *finished = true;
        if (tty) {
          if (t - *last < std::chrono::milliseconds(100) && !done) return;
          *last = t;
          const int width = 30;
          const int filled = total > 0 ? static_cast<int>(width * now / total) : 0;
          std::fprintf(stderr, "\r%s [%s%s] %s / %s  %s/s   ", name.c_str(),
                       std::string(static_cast<size_t>(filled), '#').c_str(),
                       std::string(static_cast<size_t>(width - filled), '.').c_str(),
                       megabytes(now).c_str(), total > 0 ? megabytes(total).c_str() : "?",
                       megabytes(static_cast<int64_t>(rate)).c_str());
          if (done) std::fprintf(stderr, "\n");
          std::fflush(stderr);
        } else if (t - *last > std::chrono::seconds(5) || done) {
          *last = t;
          spdlog::info("{}: {} of {} ({:.1f} MB/s)", name, megabytes(now),
                       total > 0 ? megabytes(total) : "?", rate / 1e6);
        }
      };
}

}  // namespace

void setup_download(CLI::App& app, int& exit_code) {
  auto opts = std::make_shared<DownloadOptions>();
  std::string names;
  for (const auto& s : download_sources()) names += (names.empty() ? "" : " | ") + s.dataset;
  CLI::App* cmd = app.add_subcommand(
      "download", "Download a dataset, verify its MD5 checksum and unpack it under --root");
  cmd->add_option("dataset", opts->dataset, names)->required();
  cmd->add_option("--root", opts->root, "Data root; the dataset gets its own folder inside")
      ->capture_default_str();
  cmd->add_option(
      "--url", opts->url,
      "Base URL of a mirror holding the official file names (default: the official site)");
  cmd->add_option("--md5", opts->md5,
                  "Expected MD5 of a single-archive dataset, for mirrors that repackage it");
  cmd->add_option("--timeout", opts->timeout_s, "Seconds without data before giving up")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  cmd->callback([opts, &exit_code, cmd] {
    const bool quiet = spdlog::get_level() > spdlog::level::info;
    try {
      const DownloadResult r = download_dataset(*opts, make_progress(quiet));
      if (r.already_present) {
        spdlog::info("{} is already present and intact in '{}': nothing to do", opts->dataset,
                     r.folder);
      } else {
        spdlog::info("{} installed in '{}' ({} downloaded); train with data.root = \"{}\"",
                     opts->dataset, r.folder, megabytes(r.bytes), opts->root);
      }
      exit_code = kExitOk;
    } catch (const DownloadInterrupted& e) {
      spdlog::error("{}; nothing was installed", e.what());
      exit_code = kExitInterrupted;
    }
  });
}

}  // namespace relnet::cli
