// Console sink with a status line, run log files.
#include "relnet/util/logging.h"

#include <spdlog/sinks/base_sink.h>
#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <stdexcept>
#include <vector>

namespace relnet {
namespace {

constexpr const char* kConsolePattern = "[%H:%M:%S] %^%l%$ %v";
constexpr const char* kFilePattern = "[%Y-%m-%d %H:%M:%S] %l %v";

bool stdout_is_terminal() {
  if (!isatty(fileno(stdout))) return false;
  const char* term = std::getenv("TERM");
  return !(term && std::strcmp(term, "dumb") == 0);
}

// Wraps the colour console sink: clears the status line before a message
// and draws it again after, so log lines scroll above the bar.
class StatusConsoleSink : public spdlog::sinks::base_sink<std::mutex> {
 public:
  StatusConsoleSink() : inner_(std::make_unique<spdlog::sinks::stdout_color_sink_st>()) {
    inner_->set_pattern(kConsolePattern);
  }

  void set_status(const std::string& text) {
    std::lock_guard<std::mutex> lock(mutex_);
    status_ = text;
    std::fputs("\r\033[K", stdout);
    std::fputs(status_.c_str(), stdout);
    std::fflush(stdout);
  }

  void clear_status() {
    std::lock_guard<std::mutex> lock(mutex_);
    if (status_.empty()) return;
    status_.clear();
    std::fputs("\r\033[K", stdout);
    std::fflush(stdout);
  }

 protected:
  void sink_it_(const spdlog::details::log_msg& msg) override {
    if (!status_.empty()) std::fputs("\r\033[K", stdout);
    inner_->log(msg);
    if (!status_.empty()) {
      std::fputs(status_.c_str(), stdout);
      std::fflush(stdout);
    }
  }
  void flush_() override { inner_->flush(); }
  void set_pattern_(const std::string& pattern) override { inner_->set_pattern(pattern); }
  void set_formatter_(std::unique_ptr<spdlog::formatter> f) override {
    inner_->set_formatter(std::move(f));
  }

 private:
  std::unique_ptr<spdlog::sinks::stdout_color_sink_st> inner_;
  std::string status_;
};

struct LoggingState {
  std::shared_ptr<StatusConsoleSink> console;
  ProgressMode mode = ProgressMode::kAuto;
  spdlog::level::level_enum console_level = spdlog::level::info;
  std::vector<LogFile::Sinks*> files;  // of every LogFile alive
};

LoggingState& state() {
  static LoggingState s;
  return s;
}

}  // namespace

ProgressMode parse_progress_mode(const std::string& name) {
  if (name == "auto") return ProgressMode::kAuto;
  if (name == "bar") return ProgressMode::kBar;
  if (name == "lines") return ProgressMode::kLines;
  throw std::invalid_argument("progress mode must be auto | bar | lines, got '" + name + "'");
}

namespace {

void install_console(spdlog::level::level_enum level, ProgressMode mode) {
  auto& s = state();
  s.console = std::make_shared<StatusConsoleSink>();
  s.mode = mode;
  s.console_level = level;
  s.console->set_level(level);
  auto logger = std::make_shared<spdlog::logger>("relnet", s.console);
  logger->set_level(level);
  spdlog::set_default_logger(logger);
}

}  // namespace

void init_logging(const std::string& level, ProgressMode mode) {
  const auto parsed = spdlog::level::from_str(level);
  if (parsed == spdlog::level::off && level != "off") {
    throw std::invalid_argument(
        "log level must be trace | debug | info | warn | error | off, got '" + level + "'");
  }
  install_console(parsed, mode);
}

void quiet_console_for_rank(int rank) {
  auto& s = state();
  const auto level = std::max(s.console_level, spdlog::level::warn);
  install_console(level, ProgressMode::kLines);
  s.console->set_pattern("[%H:%M:%S] [rank " + std::to_string(rank) + "] %^%l%$ %v");
}

bool progress_bar_enabled() {
  const auto& s = state();
  if (!s.console || s.console_level > spdlog::level::info) return false;
  switch (s.mode) {
    case ProgressMode::kBar:
      return true;
    case ProgressMode::kLines:
      return false;
    case ProgressMode::kAuto:
      return stdout_is_terminal();
  }
  return false;
}

int terminal_columns() {
  winsize w{};
  if (ioctl(fileno(stdout), TIOCGWINSZ, &w) == 0 && w.ws_col > 0) return w.ws_col;
  return 80;
}

void set_status_line(const std::string& text) {
  if (!progress_bar_enabled()) return;
  if (text.empty()) {
    state().console->clear_status();
  } else {
    state().console->set_status(text);
  }
}

void clear_status_line() {
  if (state().console) state().console->clear_status();
}

struct LogFile::Sinks {
  std::shared_ptr<spdlog::sinks::sink> file;
  std::shared_ptr<spdlog::logger> file_only;  // writes to `file` alone
};

LogFile::LogFile(const std::string& path, bool append)
    : path_(path), sinks_(std::make_unique<Sinks>()) {
  std::shared_ptr<spdlog::sinks::basic_file_sink_mt> sink;
  try {
    sink = std::make_shared<spdlog::sinks::basic_file_sink_mt>(path, /*truncate=*/!append);
  } catch (const spdlog::spdlog_ex& e) {
    throw std::runtime_error("cannot open log file '" + path + "': " + e.what());
  }
  sink->set_pattern(kFilePattern);
  // The file keeps info lines even when the console is quieter (--quiet).
  auto& logger = *spdlog::default_logger();
  previous_level_ = static_cast<int>(logger.level());
  const auto file_level = std::min(logger.level(), spdlog::level::info);
  sink->set_level(file_level);
  logger.set_level(file_level);
  sinks_->file = sink;
  logger.sinks().push_back(sink);
  sinks_->file_only = std::make_shared<spdlog::logger>("relnet-file", sink);
  sinks_->file_only->set_level(file_level);
  sinks_->file_only->flush_on(spdlog::level::trace);
  spdlog::default_logger()->flush_on(spdlog::level::info);
  state().files.push_back(sinks_.get());
}

LogFile::~LogFile() {
  auto& files = state().files;
  files.erase(std::remove(files.begin(), files.end(), sinks_.get()), files.end());
  auto& sinks = spdlog::default_logger()->sinks();
  for (auto it = sinks.begin(); it != sinks.end(); ++it) {
    if (*it == sinks_->file) {
      sinks.erase(it);
      break;
    }
  }
  spdlog::default_logger()->set_level(static_cast<spdlog::level::level_enum>(previous_level_));
  sinks_->file->flush();
}

}  // namespace relnet

namespace relnet {

void log_periodic(const std::string& message) {
  if (!progress_bar_enabled()) {
    spdlog::info("{}", message);
    return;
  }
  // Written to the open log files only: the console shows the bar instead.
  for (LogFile::Sinks* f : state().files) f->file_only->info(message);
}

}  // namespace relnet
