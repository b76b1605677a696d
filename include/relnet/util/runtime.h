// Process-wide runtime setup: allocator behaviour, LibTorch thread count,
// device selection, and the stop flag raised by SIGINT/SIGTERM.
#pragma once

#include <torch/torch.h>

#include <string>
#include <utility>
#include <vector>

namespace relnet {

// Keeps freed memory in the process (no mmap per large buffer, no trimming):
// first-touch page faults on big per-step buffers are costly on small VMs.
// Call once, early in main. Idempotent.
void keep_freed_memory();

// How threads wait for work in relnet's long commands. LibTorch's intra-op
// threads are OpenMP (libgomp) threads, and an idle one by default spins
// for a long while (300,000 rounds) before it sleeps, taking cycles that
// other threads need on a small machine; with OMP_WAIT_POLICY=passive it
// sleeps at once, and every parallel region then waits for the threads to
// wake. A short spin does best: measured on 2 cores, alternating runs of
// `relnet bench`, a spin count of 10,000 against passive gave K=4 1.8x,
// K=16 1.2x and K=32 1.1x the images/s, and linear evaluation 1.6x
// (docs/PERFORMANCE.md). OpenBLAS's own thread pool waits for work by
// calling sched_yield in a loop on the same cores (11% of all CPU samples
// at K=32); with OPENBLAS_NUM_THREADS=1 a matrix product runs on the
// calling thread, and relnet's large products run in parallel loops anyway.
inline constexpr const char* kOpenMPSpinCount = "10000";

// The environment variables prefer_thread_settings would set now, as (name,
// value): GOMP_SPINCOUNT=kOpenMPSpinCount unless OMP_WAIT_POLICY or
// GOMP_SPINCOUNT is set, and OPENBLAS_NUM_THREADS=1 unless it is set. A
// user's own setting always wins.
std::vector<std::pair<std::string, std::string>> thread_settings_to_set();

// libgomp and OpenBLAS read their settings once, when they are loaded, so
// the only way to change them is before the process starts: when `argv`
// runs one of relnet's long commands and thread_settings_to_set() is not
// empty, this sets those variables and re-executes the program (same PID,
// same arguments). Returns only when no re-execution was needed or possible.
void prefer_thread_settings(int argc, char** argv);

// True when `argv` names a command that runs long parallel loops (train,
// bench, the evaluations, launch, info), the ones prefer_thread_settings
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
void request_stop();  // for tests
void clear_stop();    // for tests

}  // namespace relnet
