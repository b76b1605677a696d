// Process-wide runtime setup: which commands get relnet's thread settings
// (OpenMP's spin count, OpenBLAS's threads), and how the policy in effect is
// reported. The re-execution itself
// is proven end to end by tests/smoke/ux.sh (`relnet info` under both
// settings).
#include "relnet/util/runtime.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace relnet {
namespace {

bool loops(std::vector<const char*> args) {
  args.insert(args.begin(), "relnet");
  return runs_parallel_loops(static_cast<int>(args.size()), args.data());
}

TEST(RuntimeTest, LongCommandsAreRecognisedAfterGlobalOptions) {
  EXPECT_TRUE(loops({"train", "--config", "c.json"}));
  EXPECT_TRUE(loops({"--quiet", "bench", "--K", "32"}));
  EXPECT_TRUE(loops({"--log-level", "warn", "linear-eval", "--checkpoint", "b.pt"}));
  EXPECT_TRUE(loops({"launch", "--nproc", "2", "--", "train"}));
  EXPECT_TRUE(loops({"info"}));
}

TEST(RuntimeTest, ShortCommandsAndHelpAreLeftAlone) {
  EXPECT_FALSE(loops({}));
  EXPECT_FALSE(loops({"config", "show", "--config", "c.json"}));
  EXPECT_FALSE(loops({"plot", "runs/x/metrics.jsonl"}));
  EXPECT_FALSE(loops({"--version"}));
  EXPECT_FALSE(loops({"train", "--help"}));
  EXPECT_FALSE(loops({"-h", "bench"}));
}

TEST(RuntimeTest, ReportsTheWaitPolicyFromTheEnvironment) {
  const char* saved_policy = std::getenv("OMP_WAIT_POLICY");
  const char* saved_spin = std::getenv("GOMP_SPINCOUNT");
  const std::string policy = saved_policy ? saved_policy : "";
  const std::string spin = saved_spin ? saved_spin : "";
  unsetenv("OMP_WAIT_POLICY");
  unsetenv("GOMP_SPINCOUNT");
  EXPECT_EQ(openmp_wait_policy(), "default");
  setenv("OMP_WAIT_POLICY", "PASSIVE", 1);
  EXPECT_EQ(openmp_wait_policy(), "passive");
  setenv("GOMP_SPINCOUNT", "1000", 1);
  EXPECT_EQ(openmp_wait_policy(), "spin count 1000");
  unsetenv("OMP_WAIT_POLICY");
  unsetenv("GOMP_SPINCOUNT");
  if (saved_policy) setenv("OMP_WAIT_POLICY", policy.c_str(), 1);
  if (saved_spin) setenv("GOMP_SPINCOUNT", spin.c_str(), 1);
}

// Sets or unsets environment variables for one test, restoring them after.
class ScopedEnv {
 public:
  explicit ScopedEnv(std::vector<std::pair<std::string, const char*>> vars) {
    for (const auto& [name, value] : vars) {
      const char* old = std::getenv(name.c_str());
      saved_.emplace_back(name, old ? std::optional<std::string>(old) : std::nullopt);
      if (value) {
        setenv(name.c_str(), value, 1);
      } else {
        unsetenv(name.c_str());
      }
    }
  }
  ~ScopedEnv() {
    for (const auto& [name, value] : saved_) {
      if (value) {
        setenv(name.c_str(), value->c_str(), 1);
      } else {
        unsetenv(name.c_str());
      }
    }
  }

 private:
  std::vector<std::pair<std::string, std::optional<std::string>>> saved_;
};

using Settings = std::vector<std::pair<std::string, std::string>>;

TEST(RuntimeTest, SetsAShortSpinAndOneOpenBlasThreadUnlessTheUserChose) {
  {
    ScopedEnv env({{"OMP_WAIT_POLICY", nullptr},
                   {"GOMP_SPINCOUNT", nullptr},
                   {"OPENBLAS_NUM_THREADS", nullptr}});
    EXPECT_EQ(thread_settings_to_set(),
              (Settings{{"GOMP_SPINCOUNT", "10000"}, {"OPENBLAS_NUM_THREADS", "1"}}));
  }
  {
    ScopedEnv env({{"OMP_WAIT_POLICY", "passive"},
                   {"GOMP_SPINCOUNT", nullptr},
                   {"OPENBLAS_NUM_THREADS", nullptr}});
    EXPECT_EQ(thread_settings_to_set(), (Settings{{"OPENBLAS_NUM_THREADS", "1"}}));
  }
  {
    ScopedEnv env(
        {{"OMP_WAIT_POLICY", nullptr}, {"GOMP_SPINCOUNT", "5"}, {"OPENBLAS_NUM_THREADS", "2"}});
    EXPECT_TRUE(thread_settings_to_set().empty());  // after the restart, too
  }
}

}  // namespace
}  // namespace relnet
