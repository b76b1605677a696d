// The live progress bar.
#include "relnet/util/progress.h"

#include <algorithm>
#include <utility>

#include "relnet/util/logging.h"
#include "relnet/util/metrics.h"

namespace relnet {

std::string format_progress_line(const std::string& label, int64_t done, int64_t total,
                                 const std::string& figures, double eta_seconds, int width,
                                 int columns) {
  total = std::max<int64_t>(total, 1);
  done = std::clamp<int64_t>(done, 0, total);
  const int filled =
      static_cast<int>(static_cast<double>(done) / static_cast<double>(total) * width);
  std::string line = label.empty() ? "" : label + " ";
  line += "[" + std::string(static_cast<size_t>(filled), '#') +
          std::string(static_cast<size_t>(width - filled), '-') + "] " + std::to_string(done) +
          "/" + std::to_string(total);
  if (!figures.empty()) line += " | " + figures;
  if (eta_seconds >= 0) line += " | ETA " + format_duration(eta_seconds);
  if (columns > 0 && line.size() > static_cast<size_t>(columns - 1)) {
    line.resize(static_cast<size_t>(std::max(columns - 1, 0)));
  }
  return line;
}

ProgressBar::ProgressBar(std::string label, int64_t total, double min_interval_s)
    : label_(std::move(label)),
      total_(total),
      min_interval_s_(min_interval_s),
      enabled_(progress_bar_enabled()) {}

ProgressBar::~ProgressBar() { finish(); }

void ProgressBar::update(int64_t done, const std::string& figures, double eta_seconds) {
  if (!enabled_) return;
  const auto now = std::chrono::steady_clock::now();
  if (shown_ && done < total_ &&
      std::chrono::duration<double>(now - last_).count() < min_interval_s_) {
    return;
  }
  last_ = now;
  shown_ = true;
  set_status_line(
      format_progress_line(label_, done, total_, figures, eta_seconds, 24, terminal_columns()));
}

void ProgressBar::finish() {
  if (!shown_) return;
  shown_ = false;
  clear_status_line();
}

}  // namespace relnet
