// Data-parallel training with LibTorch's own distributed engine, c10d:
// rendezvous through a TCPStore, collectives through ProcessGroupGloo (CPU
// tensors). Processes join the way PyTorch jobs do, from the environment
// variables torchrun, SLURM wrappers or `relnet launch` set.
#pragma once

#include <torch/torch.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace relnet {

// Where this process sits in the job.
struct DistributedEnv {
  int rank = 0;
  int world_size = 1;
  int local_rank = 0;
  std::string master_addr = "127.0.0.1";
  int master_port = 29500;
  bool active() const { return world_size > 1; }
};

// Reads RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR and MASTER_PORT. Without
// WORLD_SIZE (or with WORLD_SIZE=1) the process trains alone. Throws
// std::invalid_argument naming the variable when one is not a number, out of
// range (RANK >= WORLD_SIZE, port outside 1..65535), or missing while the
// others are set (WORLD_SIZE > 1 needs RANK and MASTER_ADDR).
DistributedEnv distributed_env_from_environment();

// Processes of this job on this machine: LOCAL_WORLD_SIZE (as torchrun and
// `relnet launch` set it), else 1. They share the machine's cores.
int local_world_size();

// True when distributed training is compiled in (c10d with Gloo).
bool distributed_available();

// A joined process group. Every collective is blocking for the caller (the
// async gradient reduction excepted) and fails after `timeout` with a
// std::runtime_error naming this rank and what went wrong, so one rank
// dying ends the others instead of hanging them.
class ProcessGroup {
 public:
  // Rank 0 serves the TCPStore at master_addr:master_port (0 = any free
  // port; see port()), the others connect to it; then the Gloo group forms.
  ProcessGroup(const DistributedEnv& env, std::chrono::milliseconds timeout);
  ~ProcessGroup();
  ProcessGroup(const ProcessGroup&) = delete;
  ProcessGroup& operator=(const ProcessGroup&) = delete;

  int rank() const { return rank_; }
  int world_size() const { return world_size_; }
  int port() const;  // the store's port (what rank 0 bound)

  // Copies rank `root`'s tensors into everyone's, in place.
  void broadcast(const std::vector<torch::Tensor>& tensors, int root = 0);

  // Element-wise sum (or max) across ranks of a few numbers.
  std::vector<double> all_sum(const std::vector<double>& values);
  std::vector<double> all_max(const std::vector<double>& values);

  // Every rank's value, indexed by rank.
  std::vector<int64_t> all_gather(int64_t value);

  void barrier();

  // Gradient averaging, bucketed: the .grad of `params` are flattened into
  // buckets of about `bucket_bytes`, summed across ranks asynchronously and
  // divided by the world size when wait() is called. A parameter without a
  // gradient counts as zeros (and gets one). Start it as soon as the grads of
  // `params` are final, do other work, then wait().
  class PendingGradients {
   public:
    PendingGradients();
    PendingGradients(PendingGradients&&) noexcept;
    PendingGradients& operator=(PendingGradients&&) noexcept;
    ~PendingGradients();
    void wait();

   private:
    friend class ProcessGroup;
    struct State;
    std::unique_ptr<State> state_;
  };
  PendingGradients average_gradients_async(const std::vector<torch::Tensor>& params,
                                           int64_t bucket_bytes = 25 << 20);
  void average_gradients(const std::vector<torch::Tensor>& params) {
    average_gradients_async(params).wait();
  }

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  int rank_ = 0;
  int world_size_ = 1;
};

// A 64-bit FNV-1a hash of the bytes of `tensors` (moved to CPU, contiguous):
// equal on two ranks exactly when the tensors are bitwise equal (up to the
// odds of a hash collision).
uint64_t tensors_hash(const std::vector<torch::Tensor>& tensors);

}  // namespace relnet
