// `relnet launch --nproc N -- train --config X`: N local ranks of a
// data-parallel job, started the way torchrun starts them (RANK, WORLD_SIZE,
// LOCAL_RANK, LOCAL_WORLD_SIZE, MASTER_ADDR, MASTER_PORT), watched, and
// stopped together: when one fails, the others are terminated.
#include <netinet/in.h>
#include <signal.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "commands.h"
#include "relnet/util/process.h"
#include "relnet/util/runtime.h"

namespace relnet::cli {
namespace {

struct LaunchOptions {
  int nproc = 2;
  int nnodes = 1;
  int node_rank = 0;
  std::string master_addr = "127.0.0.1";
  int master_port = 0;
  std::vector<std::string> command;
};

// A TCP port nobody listens on right now (the kernel's choice).
int free_port() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) throw std::runtime_error(std::string("socket: ") + std::strerror(errno));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof(addr);
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
      getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    const std::string err = std::strerror(errno);
    close(fd);
    throw std::runtime_error("cannot find a free port: " + err);
  }
  close(fd);
  return ntohs(addr.sin_port);
}

int run_launch(const LaunchOptions& o) {
  if (o.command.empty()) {
    throw std::invalid_argument(
        "launch: give the command to run after --, e.g. "
        "relnet launch --nproc 2 -- train --config configs/smoke.json");
  }
  if (o.node_rank >= o.nnodes) {
    throw std::invalid_argument("launch: --node-rank " + std::to_string(o.node_rank) +
                                " must be < --nnodes " + std::to_string(o.nnodes));
  }
  if (o.nnodes > 1 && o.master_port == 0) {
    throw std::invalid_argument(
        "launch: with --nnodes > 1 every node needs the same --master-port");
  }
  const int port = o.master_port > 0 ? o.master_port : free_port();
  const int world = o.nproc * o.nnodes;
  spdlog::info(
      "launching {} ranks on this node ({} of {} nodes, world size {}), rendezvous at {}:{}",
      o.nproc, o.node_rank + 1, o.nnodes, world, o.master_addr, port);

  // Each rank in a process group of its own: a Ctrl-C on the terminal
  // reaches launch only, which passes it on once.
  std::vector<std::string> command{self_executable()};
  command.insert(command.end(), o.command.begin(), o.command.end());
  std::vector<pid_t> children;
  for (int local = 0; local < o.nproc; ++local) {
    const int rank = o.node_rank * o.nproc + local;
    children.push_back(spawn_child(command, {{"RANK", std::to_string(rank)},
                                             {"WORLD_SIZE", std::to_string(world)},
                                             {"LOCAL_RANK", std::to_string(local)},
                                             {"LOCAL_WORLD_SIZE", std::to_string(o.nproc)},
                                             {"MASTER_ADDR", o.master_addr},
                                             {"MASTER_PORT", std::to_string(port)}}));
  }

  // Watch: the first failure ends the job; Ctrl-C is passed on once.
  int result = kExitOk;
  bool failed = false, forwarded = false;
  auto deadline = std::chrono::steady_clock::time_point::max();
  size_t running = children.size();
  std::vector<bool> done(children.size(), false);
  while (running > 0) {
    for (size_t i = 0; i < children.size(); ++i) {
      if (done[i]) continue;
      int status = 0;
      const pid_t r = waitpid(children[i], &status, WNOHANG);
      if (r != children[i]) continue;
      done[i] = true;
      --running;
      const int code = exit_code_of(status);
      if (code != 0 && !failed) {
        failed = true;
        result = code;
        // After a Ctrl-C every rank stops by itself at the same step, rank 0
        // saving the checkpoint: let them finish rather than signal them again.
        if (running > 0 && !forwarded) {
          spdlog::error("rank {} exited with code {}: stopping the other {} rank(s)",
                        o.node_rank * o.nproc + static_cast<int>(i), code, running);
          for (size_t j = 0; j < children.size(); ++j) {
            if (!done[j]) kill(children[j], SIGTERM);
          }
          deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
        }
      }
    }
    if (stop_requested() && !forwarded) {
      forwarded = true;
      for (size_t j = 0; j < children.size(); ++j) {
        if (!done[j]) kill(children[j], SIGINT);
      }
    }
    if (std::chrono::steady_clock::now() > deadline) {
      for (size_t j = 0; j < children.size(); ++j) {
        if (!done[j]) kill(children[j], SIGKILL);
      }
      deadline = std::chrono::steady_clock::time_point::max();
    }
    if (running > 0) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  if (forwarded && result == kExitOk) return kExitOk;
  return result;
}

}  // namespace

void setup_launch(CLI::App& app, int& exit_code) {
  auto o = std::make_shared<LaunchOptions>();
  CLI::App* cmd = app.add_subcommand(
      "launch",
      "Start N ranks of a data-parallel job on this machine: relnet launch --nproc 2 -- train ...");
  cmd->add_option("--nproc", o->nproc, "Ranks (processes) on this node")
      ->capture_default_str()
      ->check(CLI::Range(1, 1024));
  cmd->add_option("--nnodes", o->nnodes, "Nodes (machines) in the job; run launch on each")
      ->capture_default_str()
      ->check(CLI::Range(1, 4096));
  cmd->add_option("--node-rank", o->node_rank, "This node's index, 0 .. nnodes-1")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--master-addr", o->master_addr, "Address of node 0, where rank 0 listens")
      ->capture_default_str();
  cmd->add_option("--master-port", o->master_port,
                  "Port of the rendezvous on node 0; 0 = a free one (one node only)")
      ->capture_default_str()
      ->check(CLI::Range(0, 65535));
  cmd->add_option("command", o->command, "The relnet command each rank runs (after --)");
  cmd->positionals_at_end();
  cmd->callback([o, &exit_code] { exit_code = run_launch(*o); });
}

}  // namespace relnet::cli
