// Progress of a long loop (an epoch of training, the epochs of a linear
// evaluation): a live bar on a terminal, redrawn at most a few times a
// second, with the step count, the caller's figures and the ETA; nothing on
// the console otherwise (callers log plain periodic lines instead, see
// progress_bar_enabled()).
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace relnet {

// "epoch 2/3 [########--------] 412/937 | loss 0.31 | ETA 1m20s", cut to
// `columns` characters. `done` is clamped to [0, total]; the bar is `width`
// cells wide; the ETA part is left out when eta_seconds < 0.
std::string format_progress_line(const std::string& label, int64_t done, int64_t total,
                                 const std::string& figures, double eta_seconds, int width,
                                 int columns);

class ProgressBar {
 public:
  // Shows nothing unless progress_bar_enabled(). `min_interval_s`: the least
  // time between two redraws.
  ProgressBar(std::string label, int64_t total, double min_interval_s = 0.2);
  ~ProgressBar();  // removes the bar
  ProgressBar(const ProgressBar&) = delete;
  ProgressBar& operator=(const ProgressBar&) = delete;

  // Redraws when due (always for the last step).
  void update(int64_t done, const std::string& figures, double eta_seconds);
  // Removes the bar from the console (log lines after it start clean).
  void finish();
  bool enabled() const { return enabled_; }

 private:
  std::string label_;
  int64_t total_;
  double min_interval_s_;
  bool enabled_;
  bool shown_ = false;
  std::chrono::steady_clock::time_point last_;
};

}  // namespace relnet
