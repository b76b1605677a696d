// Child processes: relnet starting relnet (launch's ranks, compare's
// training runs), watched until they end, with Ctrl-C passed on once.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace relnet {

// The running executable's path (/proc/self/exe). Throws std::runtime_error
// when it cannot be read.
std::string self_executable();

// A finished child's exit code as a shell reports it: its exit status, or
// 128 + the signal that killed it.
int exit_code_of(int wait_status);

// Starts `argv` (argv[0]: the executable's path) with `env` (name, value)
// added to this process's environment, in a process group of its own, so
// that a Ctrl-C on the terminal reaches this process alone (which passes it
// on once: a second SIGINT would stop the child at once); the child gets
// SIGTERM if this process dies. Returns its pid. Throws std::runtime_error
// when it cannot fork; a child that cannot exec exits 127.
pid_t spawn_child(const std::vector<std::string>& argv,
                  const std::vector<std::pair<std::string, std::string>>& env = {});

struct ChildOutcome {
  int exit_code = 0;
  double seconds = 0;           // wall time from start to exit
  int64_t peak_rss_bytes = 0;   // the child's largest resident set
  bool stop_forwarded = false;  // a stop request (Ctrl-C) was passed on as SIGINT
};

// spawn_child, then waits for the child, passing a stop request of this
// process (stop_requested(), util/runtime.h) on to it once as SIGINT.
ChildOutcome run_child(const std::vector<std::string>& argv);

}  // namespace relnet
