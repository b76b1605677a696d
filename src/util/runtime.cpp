// Process-wide runtime setup.
#include "relnet/util/runtime.h"

#include <ATen/autocast_mode.h>
#include <malloc.h>
#include <unistd.h>

#include <atomic>
#include <cctype>
#include <climits>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <thread>
#include <utility>
#include <vector>

namespace relnet {
namespace {

std::atomic<bool> g_stop{false};

extern "C" void on_stop_signal(int sig) {
  if (g_stop.exchange(true)) {
    // Second signal: the user insists. Leave at once (async-signal-safe).
    const char msg[] = "\nrelnet: second interrupt, exiting without saving\n";
    const ssize_t ignored = ::write(STDERR_FILENO, msg, sizeof(msg) - 1);
    (void)ignored;
    ::_exit(128 + sig);
  }
}

}  // namespace

void keep_freed_memory() {
  mallopt(M_MMAP_MAX, 0);
  mallopt(M_TRIM_THRESHOLD, INT_MAX);  // never give the heap top back
  mallopt(M_TOP_PAD, 256 * 1024 * 1024);
}

bool runs_parallel_loops(int argc, const char* const* argv) {
  static const char* const kCommands[] = {"train",     "bench", "linear-eval", "finetune", "knn",
                                          "retrieval", "test",  "launch",      "info"};
  for (int i = 1; i < argc; ++i) {
    if (argv[i] == nullptr) break;
    // --help anywhere prints and exits: not worth a restart.
    if (std::strcmp(argv[i], "--help") == 0 || std::strcmp(argv[i], "-h") == 0) return false;
  }
  for (int i = 1; i < argc; ++i) {
    if (argv[i] == nullptr) break;
    for (const char* c : kCommands) {
      if (std::strcmp(argv[i], c) == 0) return true;
    }
  }
  return false;
}

std::vector<std::pair<std::string, std::string>> thread_settings_to_set() {
  std::vector<std::pair<std::string, std::string>> settings;
  if (std::getenv("OMP_WAIT_POLICY") == nullptr && std::getenv("GOMP_SPINCOUNT") == nullptr) {
    settings.emplace_back("GOMP_SPINCOUNT", kOpenMPSpinCount);
  }
  if (std::getenv("OPENBLAS_NUM_THREADS") == nullptr) {
    settings.emplace_back("OPENBLAS_NUM_THREADS", "1");
  }
  return settings;
}

void prefer_thread_settings(int argc, char** argv) {
  if (!runs_parallel_loops(argc, argv)) return;
  const auto settings = thread_settings_to_set();
  if (settings.empty()) return;  // the user's own, or already restarted
  for (const auto& [name, value] : settings) {
    if (::setenv(name.c_str(), value.c_str(), 1) != 0) return;
  }
  ::execv("/proc/self/exe", argv);
  // No /proc (or exec refused): run on with the libraries' defaults, and say
  // so truthfully in `relnet info`.
  for (const auto& setting : settings) ::unsetenv(setting.first.c_str());
}

std::string openmp_wait_policy() {
  if (const char* spin = std::getenv("GOMP_SPINCOUNT")) return std::string("spin count ") + spin;
  if (const char* policy = std::getenv("OMP_WAIT_POLICY")) {
    std::string p(policy);
    for (char& c : p) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return p;
  }
  return "default";
}

int hardware_threads() {
  const unsigned n = std::thread::hardware_concurrency();
  return n == 0 ? 1 : static_cast<int>(n);
}

int set_threads(int64_t threads) {
  const int n = threads > 0 ? static_cast<int>(threads) : hardware_threads();
  at::set_num_threads(n);
  return at::get_num_threads();
}

AutocastGuard::AutocastGuard(torch::Device device, bool enabled)
    : enabled_(enabled), cuda_(device.is_cuda()), previous_(false) {
  if (!enabled_) return;
  if (cuda_) {
    previous_ = at::autocast::is_enabled();
    previous_dtype_ = at::autocast::get_autocast_gpu_dtype();
    at::autocast::set_autocast_gpu_dtype(at::kBFloat16);
    at::autocast::set_enabled(true);
  } else {
    previous_ = at::autocast::is_cpu_enabled();
    previous_dtype_ = at::autocast::get_autocast_cpu_dtype();
    at::autocast::set_autocast_cpu_dtype(at::kBFloat16);
    at::autocast::set_cpu_enabled(true);
  }
}

AutocastGuard::~AutocastGuard() {
  if (!enabled_) return;
  if (cuda_) {
    at::autocast::set_enabled(previous_);
    at::autocast::set_autocast_gpu_dtype(previous_dtype_);
  } else {
    at::autocast::set_cpu_enabled(previous_);
    at::autocast::set_autocast_cpu_dtype(previous_dtype_);
  }
  if (!previous_) at::autocast::clear_cache();
}

void configure_cudnn(bool deterministic) {
  at::globalContext().setBenchmarkCuDNN(!deterministic);
  at::globalContext().setDeterministicCuDNN(deterministic);
}

torch::Device resolve_device(const std::string& name) {
  if (name == "auto")
    return torch::cuda::is_available() ? torch::Device(torch::kCUDA) : torch::kCPU;
  if (name == "cpu") return torch::kCPU;
  if (name == "cuda" || name.rfind("cuda:", 0) == 0) {
    if (!torch::cuda::is_available()) {
      throw std::invalid_argument("device '" + name +
                                  "' requested but CUDA is not available in this build or machine "
                                  "(use --device cpu or auto)");
    }
    torch::Device device(name);
    if (device.has_index() && device.index() >= static_cast<int>(torch::cuda::device_count())) {
      throw std::invalid_argument("device '" + name + "' does not exist: " +
                                  std::to_string(torch::cuda::device_count()) + " CUDA device(s)");
    }
    return device;
  }
  throw std::invalid_argument("device must be auto | cpu | cuda | cuda:N, got '" + name + "'");
}

void install_stop_handlers() {
  struct sigaction sa {};
  sa.sa_handler = on_stop_signal;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = 0;
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
}

bool stop_requested() { return g_stop.load(std::memory_order_relaxed); }
void request_stop() { g_stop.store(true); }
void clear_stop() { g_stop.store(false); }

}  // namespace relnet
