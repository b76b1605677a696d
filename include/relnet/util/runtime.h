// Process-wide runtime setup: allocator behaviour, LibTorch thread count,
// device selection, and the stop flag raised by SIGINT/SIGTERM.
#pragma once

#include <torch/torch.h>

#include <string>

namespace relnet {

// Keeps freed memory in the process (no mmap per large buffer, no trimming):
// first-touch page faults on big per-step buffers are costly on small VMs.
// Call once, early in main. Idempotent.
void keep_freed_memory();

// LibTorch's intra-op threads are OpenMP threads; libgomp's default makes an
// idle one spin for a while before it sleeps. On a machine whose cores are
// shared with relnet's augmentation workers, that spinning takes cycles the
// workers need (measured on 2 cores at Conv4 K=32: about a third of the CPU
// samples; the step ran 10-20% faster without it, see docs/PERFORMANCE.md). libgomp reads its settings once, when it is loaded, so
// the only way to change them is before the process starts: when `argv` runs
// one of relnet's long commands and neither OMP_WAIT_POLICY nor
// GOMP_SPINCOUNT is set, this sets OMP_WAIT_POLICY=passive and re-executes
// the program (same PID, same arguments). Returns only when no re-execution
// was needed or possible. A user's own setting always wins.
void prefer_passive_openmp(int argc, char** argv);

// True when `argv` names a command that runs long parallel loops (train,
// bench, the evaluations, launch, info), the ones prefer_passive_openmp
// re-executes for.
bool runs_parallel_loops(int argc, const char* const* argv);

// The OpenMP wait policy in effect: "passive" or "active" as set by
// OMP_WAIT_POLICY, "spin count N" for GOMP_SPINCOUNT, or "default".
std::string openmp_wait_policy();

// Sets LibTorch's intra-op threads: `threads` > 0 as given, 0 = all cores.
// Returns the count in effect.
int set_threads(int64_t threads);

// Number of hardware threads (at least 1).
int hardware_threads();

// "auto" (CUDA when available, else CPU), "cpu", "cuda" or "cuda:N". Throws
// std::invalid_argument when CUDA is asked for and not available, or the
// string is not a device.
torch::Device resolve_device(const std::string& name);

// Mixed precision: while alive (and `enabled`), LibTorch's autocast runs
// eligible operations (convolutions, matrix products) in bfloat16 on
// `device`'s type (CPU or CUDA). bf16 keeps fp32's exponent range, so no loss
// scaling is needed. Restores the previous state on destruction.
class AutocastGuard {
 public:
  AutocastGuard(torch::Device device, bool enabled);
  ~AutocastGuard();
  AutocastGuard(const AutocastGuard&) = delete;
  AutocastGuard& operator=(const AutocastGuard&) = delete;

 private:
  bool enabled_;
  bool cuda_;
  bool previous_;
  at::ScalarType previous_dtype_ = at::kFloat;
};

// cuDNN: benchmark mode (fastest algorithms, measured per shape) unless
// `deterministic`, which selects deterministic algorithms instead. No effect
// without CUDA.
void configure_cudnn(bool deterministic);

// Installs SIGINT/SIGTERM handlers that raise the stop flag (a second signal
// exits at once). Long loops poll stop_requested() between steps.
void install_stop_handlers();
bool stop_requested();
void request_stop();   // for tests
void clear_stop();     // for tests

}  // namespace relnet
