// The memory estimate of a training step and the memory available.
#include "relnet/train/memory.h"

#include <ATen/CPUGeneratorImpl.h>
#include <c10/core/Allocator.h>
#include <c10/util/ThreadLocalDebugInfo.h>
#include <dlfcn.h>
#include <spdlog/fmt/fmt.h>

#include <algorithm>
#include <atomic>
#include <fstream>
#include <mutex>
#include <sstream>

#include "relnet/models/backbone.h"

namespace relnet {
namespace {

// Receives LibTorch's report of every allocation and free made on this
// thread while installed (c10::DebugInfoGuard), on one device type, and
// keeps the running total and its peak.
class AllocationTracker : public c10::MemoryReportingInfoBase {
 public:
  explicit AllocationTracker(c10::DeviceType type) : type_(type) {}
  void reportMemoryUsage(void*, int64_t bytes, int64_t, int64_t, c10::Device device) override {
    if (device.type() != type_) return;
    const int64_t now = current_ += bytes;
    int64_t peak = peak_.load();
    while (now > peak && !peak_.compare_exchange_weak(peak, now)) {
    }
  }
  bool memoryProfilingEnabled() const override { return true; }
  int64_t peak() const { return peak_.load(); }

 private:
  c10::DeviceType type_;
  std::atomic<int64_t> current_{0}, peak_{0};
};

// Peak bytes allocated by one forward and backward pass of `net` on `n`
// inputs of `side` (the inputs themselves included).
int64_t probe_peak(BackboneImpl& net, torch::Device device, int64_t n, int64_t side) {
  const torch::Tensor x = torch::rand({n, 3, side, side}).to(device);
  auto tracker = std::make_shared<AllocationTracker>(device.type());
  {
    c10::DebugInfoGuard guard(c10::DebugInfoKind::PROFILER_STATE, tracker);
    net.forward(x).sum().backward();
  }
  for (auto& p : net.parameters()) p.mutable_grad() = torch::Tensor();
  return tracker->peak();
}

// The relation head's and the pairs' bytes for one step (relational reasoning).
int64_t relational_bytes(const StepShape& s) {
  const int64_t rows = s.views * s.batch_size;                   // K*B views
  const int64_t pairs = s.views * (s.views - 1) * s.batch_size;  // P
  // Indices (two int64), targets, logits, their gradient, the loss terms.
  int64_t bytes = pairs * (2 * 8 + 4 * 4);
  const bool fused_head = s.fused && s.device.is_cpu() && !s.pairs_matrix;
  if (fused_head) {
    // Two projections of every view and their gradients; (P, hidden) never exists.
    bytes += 4 * rows * s.head_hidden * 4;
  } else {
    // (P, hidden) before and after BatchNorm and LeakyReLU, and a gradient.
    bytes += 4 * pairs * s.head_hidden * 4;
    if (s.pairs_matrix) bytes += 2 * pairs * 2 * s.feature_size * 4;  // (P, 2D) and its gradient
  }
  return bytes;
}

// The method's step tensors beside the backbone.
int64_t method_bytes(const StepShape& s) {
  const int64_t rows = s.inputs * s.batch_size;
  const int64_t features = 4 * rows * s.feature_size * 4;  // features, copies, gradients
  if (s.method == "relational") return features + relational_bytes(s);
  if (s.method == "simclr") return features + 4 * rows * rows * 4;  // (2B, 2B) similarities
  return features;
}

// Resident bytes per byte LibTorch's allocator reports at the backbone's
// peak. relnet's fused CPU kernels (Conv4's, models/backbone.h) allocate
// their few tensors once: their reported peak is what stays resident. The
// LibTorch modules' many short-lived tensors of every size leave the heap
// about 1.4 times larger than the bytes live at the peak (measured for
// conv4 without its kernels and for resnet32, docs/PERFORMANCE.md).
double activation_overhead(const StepShape& s) {
  const bool fused_kernels = s.fused && s.device.is_cpu() && s.backbone == "conv4";
  return fused_kernels ? 1.0 : 1.4;
}

int64_t read_int_file(const std::string& path) {
  std::ifstream in(path);
  std::string text;
  if (!(in >> text) || text.find_first_not_of("0123456789") != std::string::npos) return -1;
  try {
    return std::stoll(text);
  } catch (const std::exception&) {
    return -1;
  }
}

// MemAvailable from /proc/meminfo, in bytes (-1 when absent).
int64_t mem_available() {
  std::ifstream in("/proc/meminfo");
  std::string key;
  int64_t kib = 0;
  std::string unit;
  while (in >> key >> kib) {
    std::getline(in, unit);
    if (key == "MemAvailable:") return kib * 1024;
  }
  return -1;
}

// What the cgroup (v2, else v1) still allows this process, or -1.
int64_t cgroup_room() {
  int64_t limit = read_int_file("/sys/fs/cgroup/memory.max");
  int64_t used = read_int_file("/sys/fs/cgroup/memory.current");
  if (limit < 0) {
    limit = read_int_file("/sys/fs/cgroup/memory/memory.limit_in_bytes");
    used = read_int_file("/sys/fs/cgroup/memory/memory.usage_in_bytes");
  }
  if (limit < 0 || limit >= (int64_t{1} << 60)) return -1;  // "max" or unlimited
  return std::max<int64_t>(0, limit - std::max<int64_t>(used, 0));
}

// Free memory of the current CUDA device through the CUDA runtime LibTorch
// loaded (found by name, so relnet needs no CUDA headers), or -1.
int64_t cuda_free() {
  using MemGetInfo = int (*)(size_t*, size_t*);
  auto* fn = reinterpret_cast<MemGetInfo>(::dlsym(RTLD_DEFAULT, "cudaMemGetInfo"));
  size_t free_bytes = 0, total = 0;
  if (!fn || fn(&free_bytes, &total) != 0) return -1;
  return static_cast<int64_t>(free_bytes);
}

}  // namespace

std::pair<int64_t, int64_t> backbone_step_bytes(const std::string& backbone, bool fused,
                                                torch::Device device, int64_t side) {
  auto generator = at::detail::getDefaultCPUGenerator();
  torch::Tensor state;
  {
    std::lock_guard<std::mutex> lock(generator.mutex());
    state = generator.get_state();
  }
  Backbone net = make_backbone(backbone);
  net->set_fused(fused);
  net->to(device);
  net->train();
  const int64_t two = probe_peak(*net, device, 2, side);
  const int64_t four = probe_peak(*net, device, 4, side);
  {
    std::lock_guard<std::mutex> lock(generator.mutex());
    generator.set_state(state);
  }
  const int64_t per_input = std::max<int64_t>(0, (four - two) / 2);
  return {std::max<int64_t>(0, two - 2 * per_input), per_input};
}

StepMemory estimate_step_memory(const StepShape& s) {
  StepMemory m;
  m.weights = s.parameters * 4;
  m.gradients = s.parameters * 4;
  m.optimizer = s.parameters * 4 * s.optimizer_slots;
  const auto [fixed, per_input] = backbone_step_bytes(s.backbone, s.fused, s.device, s.side);
  const int64_t inputs = s.inputs * s.batch_size;
  m.activations = static_cast<int64_t>(activation_overhead(s) *
                                       static_cast<double>(fixed + per_input * inputs));
  m.method = method_bytes(s);
  // The views (float) as augmented, and their copy on the device or in the step.
  const int64_t views_bytes = s.views * s.batch_size * 3 * s.side * s.side * 4;
  m.batch = views_bytes * (2 + s.prefetch);
  return m;
}

AvailableMemory available_memory(torch::Device device) {
  if (device.is_cuda()) return {cuda_free(), "free CUDA memory"};
  AvailableMemory out{mem_available(), "MemAvailable"};
  const int64_t room = cgroup_room();
  if (room >= 0 && (out.bytes < 0 || room < out.bytes)) out = {room, "the cgroup limit"};
  return out;
}

int64_t resident_bytes() {
  std::ifstream in("/proc/self/status");
  std::string key;
  while (in >> key) {
    if (key == "VmRSS:") {
      int64_t kib = -1;
      in >> kib;
      return kib < 0 ? -1 : kib * 1024;
    }
    std::getline(in, key);
  }
  return -1;
}

std::string format_bytes(int64_t bytes) {
  const double b = static_cast<double>(bytes);
  if (b >= 1024.0 * 1024 * 1024) return fmt::format("{:.1f} GiB", b / (1024.0 * 1024 * 1024));
  if (b >= 1024.0 * 1024) return fmt::format("{:.0f} MiB", b / (1024.0 * 1024));
  return fmt::format("{:.0f} KiB", b / 1024.0);
}

std::string memory_refusal(const StepMemory& need, int64_t processes,
                           const AvailableMemory& available, const StepShape& s) {
  const int64_t total = need.total() * std::max<int64_t>(1, processes);
  if (available.bytes < 0 || total <= available.bytes) return "";
  return fmt::format(
      "a training step needs about {}{} (activations {} for {} backbone inputs of {}x{}, "
      "method {}, weights, gradients and optimizer state {}, batch {}) but only {} is "
      "available ({}): lower train.batch_size (now {}), {}or data.image_size (now {}), or pass "
      "--force to start anyway",
      format_bytes(total), processes > 1 ? fmt::format(" for {} processes", processes) : "",
      format_bytes(need.activations), s.inputs * s.batch_size, s.side, s.side,
      format_bytes(need.method), format_bytes(need.weights + need.gradients + need.optimizer),
      format_bytes(need.batch), format_bytes(available.bytes), available.source, s.batch_size,
      s.method == "relational" ? fmt::format("augment.K (now {}) ", s.views) : "", s.side);
}

}  // namespace relnet
