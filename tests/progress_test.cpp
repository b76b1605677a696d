// The live bar's text, and where periodic progress lines go: the console
// when it shows plain lines, the run's log file only when it shows the bar.
#include "relnet/util/progress.h"

#include <gtest/gtest.h>

#include <fstream>
#include <iterator>

#include "relnet/util/logging.h"
#include "test_util.h"

namespace relnet {
namespace {

std::string slurp(const std::string& path) {
  std::ifstream in(path);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

TEST(ProgressTest, LineShowsBarCountsFiguresAndEta) {
  EXPECT_EQ(format_progress_line("epoch 1/3", 5, 10, "loss 0.5", 75, 10, 200),
            "epoch 1/3 [#####-----] 5/10 | loss 0.5 | ETA 1m15s");
  EXPECT_EQ(format_progress_line("", 20, 10, "", -1, 4, 200), "[####] 10/10");  // clamped
  EXPECT_EQ(format_progress_line("x", 0, 10, "", -1, 4, 200), "x [----] 0/10");
  EXPECT_EQ(format_progress_line("epoch 1/3", 5, 10, "loss 0.5", 75, 10, 12).size(), 11u);
}

TEST(ProgressTest, ParsesModesAndRejectsOthers) {
  EXPECT_EQ(parse_progress_mode("auto"), ProgressMode::kAuto);
  EXPECT_EQ(parse_progress_mode("bar"), ProgressMode::kBar);
  EXPECT_EQ(parse_progress_mode("lines"), ProgressMode::kLines);
  EXPECT_THROW(parse_progress_mode("fancy"), std::invalid_argument);
}

TEST(ProgressTest, PeriodicLinesGoToTheLogFileAndToTheConsoleOnlyWithoutABar) {
  relnet::testing::TempDir dir("progress");
  init_logging(spdlog::level::info, ProgressMode::kLines);
  EXPECT_FALSE(progress_bar_enabled());
  {
    LogFile log(dir / "train.log", /*append=*/false);
    ::testing::internal::CaptureStdout();
    log_periodic("step line one");
    spdlog::info("an event");
    const std::string console = ::testing::internal::GetCapturedStdout();
    EXPECT_NE(console.find("step line one"), std::string::npos) << console;
    EXPECT_EQ(console.find('\r'), std::string::npos) << "plain lines only";
  }
  init_logging(spdlog::level::info, ProgressMode::kBar);
  EXPECT_TRUE(progress_bar_enabled());
  {
    LogFile log(dir / "train.log", /*append=*/true);
    ::testing::internal::CaptureStdout();
    log_periodic("step line two");
    {
      ProgressBar bar("epoch 1/1", 4);
      bar.update(2, "loss 0.6", 3);
      spdlog::info("above the bar");
    }
    const std::string console = ::testing::internal::GetCapturedStdout();
    EXPECT_EQ(console.find("step line two"), std::string::npos) << console;
    EXPECT_NE(console.find("\r\033[Kepoch 1/1 ["), std::string::npos) << console;
    EXPECT_NE(console.find("above the bar"), std::string::npos);
  }
  // --quiet: no bar, but the log file keeps info lines.
  init_logging(spdlog::level::warn, ProgressMode::kBar);
  EXPECT_FALSE(progress_bar_enabled());
  {
    LogFile log(dir / "train.log", /*append=*/true);
    spdlog::info("quiet but kept");
  }
  init_logging(spdlog::level::info, ProgressMode::kAuto);
  const std::string file = slurp(dir / "train.log");
  for (const char* line : {"step line one", "an event", "step line two", "above the bar", "quiet but kept"}) {
    EXPECT_NE(file.find(line), std::string::npos) << line << " missing from:\n" << file;
  }
  EXPECT_EQ(file.find('\r'), std::string::npos);
  std::ofstream(dir / "a_file") << "x";  // a file where the folder should be
  EXPECT_NE(relnet::testing::error_of([&] { LogFile bad(dir / "a_file/train.log", false); })
                .find("cannot open log file"),
            std::string::npos);
}

}  // namespace
}  // namespace relnet
