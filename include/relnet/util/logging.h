// Console and file logging: spdlog's default logger writes to stdout (in
// colour on a terminal) and, during a run, also to the run's log file. On a
// terminal a single status line (the progress bar) stays at the bottom: log
// lines are printed above it and it is redrawn after them. Messages are
// logged with spdlog (include <spdlog/spdlog.h> where you log); this header
// keeps spdlog out of its own interface.
#pragma once

#include <memory>
#include <string>

namespace relnet {

// How long loops report progress on the console.
//   auto:  a live bar when stdout is a terminal, plain periodic lines otherwise
//   bar:   always the live bar (carriage returns; for terminals and tests)
//   lines: always plain periodic lines
enum class ProgressMode { kAuto, kBar, kLines };

// Parses "auto" | "bar" | "lines"; throws std::invalid_argument otherwise.
ProgressMode parse_progress_mode(const std::string& name);

// Installs the default logger (console sink with the status line) at
// `level` ("trace" | "debug" | "info" | "warn" | "error" | "off") with the
// given console progress mode. Call once in main; may be called again
// (tests). Throws std::invalid_argument for another level name.
void init_logging(const std::string& level, ProgressMode mode);

// For ranks other than 0 of a data-parallel job: the console shows only
// warnings and errors, each prefixed with "[rank N]", and no bar.
void quiet_console_for_rank(int rank);

// True when long loops should draw a live bar rather than periodic lines:
// mode bar, or auto with stdout a terminal (TERM not "dumb"), and the level
// lets info messages through.
bool progress_bar_enabled();

// Width of the terminal on stdout in columns (80 when unknown).
int terminal_columns();

// Sets the status line shown at the bottom of the console (a bar drawn with
// "\r"); an empty text removes it. Does nothing when the bar is disabled.
void set_status_line(const std::string& text);
void clear_status_line();

// A periodic progress line: logged at info when the console shows plain
// lines; written to the open log files only when a live bar shows the same
// figures on the console.
void log_periodic(const std::string& message);

// While alive, every message of the default logger is also appended to
// `path` (with the date), so a run directory keeps its own log. Throws
// std::runtime_error naming the path when it cannot be opened.
class LogFile {
 public:
  LogFile(const std::string& path, bool append);
  ~LogFile();
  LogFile(const LogFile&) = delete;
  LogFile& operator=(const LogFile&) = delete;

  const std::string& path() const { return path_; }

  struct Sinks;  // spdlog's file sink and a logger writing to it alone

 private:
  std::string path_;
  std::unique_ptr<Sinks> sinks_;
  int previous_level_ = 0;
};
}  // namespace relnet
