// Starting and watching relnet's child processes.
#include "relnet/util/process.h"

#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <stdexcept>
#include <thread>

#include "relnet/util/runtime.h"

namespace relnet {

std::string self_executable() {
  std::vector<char> buf(4096);
  const ssize_t n = readlink("/proc/self/exe", buf.data(), buf.size() - 1);
  if (n <= 0) throw std::runtime_error("cannot find the relnet executable (/proc/self/exe)");
  return std::string(buf.data(), static_cast<size_t>(n));
}

int exit_code_of(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return 1;
}

pid_t spawn_child(const std::vector<std::string>& args,
                  const std::vector<std::pair<std::string, std::string>>& env) {
  if (args.empty()) throw std::invalid_argument("spawn_child: no command");
  std::vector<char*> argv;  // built before fork: the child only execs
  for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  const pid_t pid = fork();
  if (pid < 0) throw std::runtime_error(std::string("fork: ") + std::strerror(errno));
  if (pid == 0) {
    setpgid(0, 0);
    prctl(PR_SET_PDEATHSIG, SIGTERM);
    for (const auto& [name, value] : env) setenv(name.c_str(), value.c_str(), 1);
    execv(argv[0], argv.data());
    std::fprintf(stderr, "cannot start %s: %s\n", argv[0], std::strerror(errno));
    _exit(127);
  }
  return pid;
}

ChildOutcome run_child(const std::vector<std::string>& argv) {
  const auto t0 = std::chrono::steady_clock::now();
  const pid_t pid = spawn_child(argv);
  ChildOutcome out;
  while (true) {
    int status = 0;
    rusage usage{};
    const pid_t r = wait4(pid, &status, WNOHANG, &usage);
    if (r == pid) {
      out.exit_code = exit_code_of(status);
      out.peak_rss_bytes = static_cast<int64_t>(usage.ru_maxrss) * 1024;  // Linux: kilobytes
      break;
    }
    if (r < 0 && errno != EINTR) {
      throw std::runtime_error(std::string("waiting for ") + argv[0] + ": " + std::strerror(errno));
    }
    if (stop_requested() && !out.stop_forwarded) {
      out.stop_forwarded = true;
      kill(pid, SIGINT);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  out.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return out;
}

}  // namespace relnet
