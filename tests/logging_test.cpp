// Tests of console and file logging: progress modes, log levels, where
// periodic progress lines go (console, log file, or both), and log files
// that cannot be opened.
#include "relnet/util/logging.h"

#include <gtest/gtest.h>
#include <spdlog/spdlog.h>

#include <fstream>
#include <iterator>

#include "relnet/util/progress.h"
#include "test_util.h"

namespace relnet {
namespace {

std::string slurp(const std::string& path) {
  std::ifstream in(path);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

TEST(LoggingTest, RejectsUnknownLevelsByName) {
  EXPECT_EQ(relnet::testing::error_of([] { init_logging("loud", ProgressMode::kLines); }),
            "log level must be trace | debug | info | warn | error | off, got 'loud'");
  init_logging("off", ProgressMode::kLines);
  EXPECT_FALSE(progress_bar_enabled());
  init_logging("info", ProgressMode::kAuto);
}

TEST(LoggingTest, ParsesModesAndRejectsOthers) {
  EXPECT_EQ(parse_progress_mode("auto"), ProgressMode::kAuto);
  EXPECT_EQ(parse_progress_mode("bar"), ProgressMode::kBar);
  EXPECT_EQ(parse_progress_mode("lines"), ProgressMode::kLines);
  EXPECT_THROW(parse_progress_mode("fancy"), std::invalid_argument);
}

TEST(LoggingTest, PeriodicLinesGoToTheLogFileAndToTheConsoleOnlyWithoutABar) {
  relnet::testing::TempDir dir("progress");
  init_logging("info", ProgressMode::kLines);
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
  init_logging("info", ProgressMode::kBar);
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
  init_logging("warn", ProgressMode::kBar);
  EXPECT_FALSE(progress_bar_enabled());
  {
    LogFile log(dir / "train.log", /*append=*/true);
    spdlog::info("quiet but kept");
  }
  init_logging("info", ProgressMode::kAuto);
  const std::string file = slurp(dir / "train.log");
  for (const char* line :
       {"step line one", "an event", "step line two", "above the bar", "quiet but kept"}) {
    EXPECT_NE(file.find(line), std::string::npos) << line << " missing from:\n" << file;
  }
  EXPECT_EQ(file.find('\r'), std::string::npos);
  std::ofstream(dir / "a_file") << "x";  // a file where the folder should be
  EXPECT_NE(relnet::testing::error_of([&] {
              LogFile bad(dir / "a_file/train.log", false);
            }).find("cannot open log file"),
            std::string::npos);
}

}  // namespace
}  // namespace relnet
