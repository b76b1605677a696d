// c10d process groups: TCPStore rendezvous, Gloo collectives.
#include "relnet/train/distributed.h"

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <stdexcept>

#ifdef RELNET_WITH_DISTRIBUTED
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>
#endif

namespace relnet {
namespace {

// The variable's value, or nullptr when unset or empty.
const char* env(const char* name) {
  const char* v = std::getenv(name);
  return v && *v ? v : nullptr;
}

int env_int(const char* name, int fallback, int lo, int hi) {
  const char* v = env(name);
  if (!v) return fallback;
  char* end = nullptr;
  errno = 0;
  const long x = std::strtol(v, &end, 10);
  if (errno != 0 || end == v || *end != '\0' || x < lo || x > hi) {
    throw std::invalid_argument(std::string(name) + " must be an integer in [" +
                                std::to_string(lo) + ", " + std::to_string(hi) + "], got '" + v +
                                "'");
  }
  return static_cast<int>(x);
}

}  // namespace

DistributedEnv distributed_env_from_environment() {
  DistributedEnv e;
  e.world_size = env_int("WORLD_SIZE", 1, 1, 1 << 16);
  if (e.world_size == 1) return e;
  if (!env("RANK")) {
    throw std::invalid_argument("WORLD_SIZE is " + std::to_string(e.world_size) +
                                " but RANK is not set (launch with relnet launch or torchrun, or "
                                "set RANK, WORLD_SIZE, MASTER_ADDR, MASTER_PORT yourself)");
  }
  e.rank = env_int("RANK", 0, 0, e.world_size - 1);
  e.local_rank = env_int("LOCAL_RANK", e.rank, 0, 1 << 16);
  if (!env("MASTER_ADDR")) {
    throw std::invalid_argument("WORLD_SIZE is " + std::to_string(e.world_size) +
                                " but MASTER_ADDR is not set (the host of rank 0)");
  }
  e.master_addr = env("MASTER_ADDR");
  e.master_port = env_int("MASTER_PORT", 29500, 1, 65535);
  return e;
}

int local_world_size() {
  try {
    return env_int("LOCAL_WORLD_SIZE", 1, 1, 1 << 16);
  } catch (const std::invalid_argument&) {
    return 1;
  }
}

uint64_t tensors_hash(const std::vector<torch::Tensor>& tensors) {
  uint64_t h = 1469598103934665603ULL;
  for (const auto& t : tensors) {
    const torch::Tensor c = t.detach().to(torch::kCPU).contiguous();
    const auto* p = static_cast<const uint8_t*>(c.data_ptr());
    const size_t n = static_cast<size_t>(c.numel()) * c.element_size();
    for (size_t i = 0; i < n; ++i) {
      h ^= p[i];
      h *= 1099511628211ULL;
    }
  }
  return h;
}

#ifdef RELNET_WITH_DISTRIBUTED

bool distributed_available() { return true; }

struct ProcessGroup::Impl {
  c10::intrusive_ptr<c10d::TCPStore> store;
  c10::intrusive_ptr<c10d::ProcessGroupGloo> group;
  std::chrono::milliseconds timeout{};
};

namespace {

[[noreturn]] void collective_failed(int rank, const char* what, const std::exception& e,
                                    std::chrono::milliseconds timeout) {
  std::string msg = e.what();
  // c10::Error appends a C++ backtrace; the first line says what happened.
  const auto nl = msg.find('\n');
  if (nl != std::string::npos) msg.resize(nl);
  throw std::runtime_error("rank " + std::to_string(rank) + ": " + what +
                           " with the other ranks failed (a rank stopped, crashed or cannot be "
                           "reached; collectives time out after " +
                           std::to_string(timeout.count() / 1000) + " s): " + msg);
}

}  // namespace

ProcessGroup::ProcessGroup(const DistributedEnv& env, std::chrono::milliseconds timeout)
    : impl_(std::make_unique<Impl>()), rank_(env.rank), world_size_(env.world_size) {
  impl_->timeout = timeout;
  try {
    c10d::TCPStoreOptions opts;
    opts.port = static_cast<std::uint16_t>(env.master_port);
    opts.isServer = env.rank == 0;
    opts.numWorkers = static_cast<std::size_t>(env.world_size);
    opts.waitWorkers = false;
    opts.timeout = timeout;
    impl_->store = c10::make_intrusive<c10d::TCPStore>(env.master_addr, opts);
    auto options = c10d::ProcessGroupGloo::Options::create(timeout);
    // Bind where rank 0 is reachable: loopback for a one-machine job, this
    // host's address otherwise.
    const bool local = env.master_addr == "127.0.0.1" || env.master_addr == "localhost";
    options->devices.push_back(local ? c10d::ProcessGroupGloo::createDeviceForHostname("127.0.0.1")
                                     : c10d::ProcessGroupGloo::createDefaultDevice());
    options->threads = 2;
    impl_->group = c10::make_intrusive<c10d::ProcessGroupGloo>(impl_->store, env.rank,
                                                               env.world_size, options);
  } catch (const std::exception& e) {
    collective_failed(
        env.rank,
        ("joining the group at " + env.master_addr + ":" + std::to_string(env.master_port)).c_str(),
        e, timeout);
  }
}

ProcessGroup::~ProcessGroup() = default;

int ProcessGroup::port() const { return impl_->store->getPort(); }

void ProcessGroup::broadcast(const std::vector<torch::Tensor>& tensors, int root) {
  // One broadcast per dtype: the tensors flattened into one buffer.
  std::vector<torch::ScalarType> types;
  for (const auto& t : tensors) {
    if (std::find(types.begin(), types.end(), t.scalar_type()) == types.end()) {
      types.push_back(t.scalar_type());
    }
  }
  for (const auto type : types) {
    std::vector<torch::Tensor> group, parts;
    for (const auto& t : tensors) {
      if (t.scalar_type() != type) continue;
      group.push_back(t);
      parts.push_back(t.detach().reshape(-1));
    }
    std::vector<at::Tensor> v{torch::cat(parts)};
    c10d::BroadcastOptions o;
    o.rootRank = root;
    try {
      impl_->group->broadcast(v, o)->wait(impl_->timeout);
    } catch (const std::exception& e) {
      collective_failed(rank_, "broadcast", e, impl_->timeout);
    }
    int64_t offset = 0;
    for (auto& t : group) {
      const int64_t n = t.numel();
      torch::NoGradGuard no_grad;
      t.detach().copy_(v[0].slice(0, offset, offset + n).view(t.sizes()));
      offset += n;
    }
  }
}

namespace {

std::vector<double> reduce_values(c10d::ProcessGroupGloo& g, const std::vector<double>& values,
                                  c10d::ReduceOp op, int rank, std::chrono::milliseconds timeout) {
  auto t = torch::tensor(values, torch::kFloat64);
  std::vector<at::Tensor> v{t};
  c10d::AllreduceOptions o;
  o.reduceOp = op;
  try {
    g.allreduce(v, o)->wait(timeout);
  } catch (const std::exception& e) {
    collective_failed(rank, "allreduce", e, timeout);
  }
  return std::vector<double>(t.data_ptr<double>(), t.data_ptr<double>() + t.numel());
}

}  // namespace

std::vector<double> ProcessGroup::all_sum(const std::vector<double>& values) {
  return reduce_values(*impl_->group, values, c10d::ReduceOp::SUM, rank_, impl_->timeout);
}

std::vector<double> ProcessGroup::all_max(const std::vector<double>& values) {
  return reduce_values(*impl_->group, values, c10d::ReduceOp::MAX, rank_, impl_->timeout);
}

std::vector<int64_t> ProcessGroup::all_gather(int64_t value) {
  // A sum of one-hot rows: exact for any int64 (no float round trip).
  auto t = torch::zeros({world_size_}, torch::kInt64);
  t[rank_] = value;
  std::vector<at::Tensor> v{t};
  try {
    impl_->group->allreduce(v)->wait(impl_->timeout);
  } catch (const std::exception& e) {
    collective_failed(rank_, "allgather", e, impl_->timeout);
  }
  return std::vector<int64_t>(t.data_ptr<int64_t>(), t.data_ptr<int64_t>() + world_size_);
}

void ProcessGroup::barrier() {
  try {
    impl_->group->barrier()->wait(impl_->timeout);
  } catch (const std::exception& e) {
    collective_failed(rank_, "barrier", e, impl_->timeout);
  }
}

struct ProcessGroup::PendingGradients::State {
  struct Bucket {
    torch::Tensor flat;
    std::vector<torch::Tensor> grads;
    c10::intrusive_ptr<c10d::Work> work;
  };
  std::vector<Bucket> buckets;
  int world_size = 1;
  int rank = 0;
  std::chrono::milliseconds timeout{};
};

ProcessGroup::PendingGradients::PendingGradients() = default;
ProcessGroup::PendingGradients::PendingGradients(PendingGradients&&) noexcept = default;
ProcessGroup::PendingGradients& ProcessGroup::PendingGradients::operator=(
    PendingGradients&&) noexcept = default;

ProcessGroup::PendingGradients::~PendingGradients() {
  if (!state_) return;
  try {
    wait();
  } catch (...) {
    // Destroyed while unwinding from another error: that error is the one to report.
  }
}

void ProcessGroup::PendingGradients::wait() {
  if (!state_) return;
  std::unique_ptr<State> s = std::move(state_);
  for (auto& b : s->buckets) {
    try {
      b.work->wait(s->timeout);
    } catch (const std::exception& e) {
      collective_failed(s->rank, "gradient allreduce", e, s->timeout);
    }
    b.flat.div_(static_cast<double>(s->world_size));
    int64_t offset = 0;
    for (auto& g : b.grads) {
      const int64_t n = g.numel();
      g.view(-1).copy_(b.flat.slice(0, offset, offset + n));
      offset += n;
    }
  }
}

ProcessGroup::PendingGradients ProcessGroup::average_gradients_async(
    const std::vector<torch::Tensor>& params, int64_t bucket_bytes) {
  PendingGradients pending;
  pending.state_ = std::make_unique<PendingGradients::State>();
  auto& s = *pending.state_;
  s.world_size = world_size_;
  s.rank = rank_;
  s.timeout = impl_->timeout;
  std::vector<torch::Tensor> current;
  int64_t current_bytes = 0;
  auto flush = [&] {
    if (current.empty()) return;
    std::vector<torch::Tensor> flat_parts;
    for (const auto& g : current) flat_parts.push_back(g.reshape(-1));
    PendingGradients::State::Bucket b;
    b.flat = torch::cat(flat_parts);
    b.grads = current;
    std::vector<at::Tensor> v{b.flat};
    try {
      b.work = impl_->group->allreduce(v);
    } catch (const std::exception& e) {
      collective_failed(rank_, "gradient allreduce", e, impl_->timeout);
    }
    s.buckets.push_back(std::move(b));
    current.clear();
    current_bytes = 0;
  };
  for (const auto& p : params) {
    if (!p.grad().defined()) p.mutable_grad() = torch::zeros_like(p);
    const torch::Tensor& g = p.grad();
    if (!current.empty() && g.scalar_type() != current.front().scalar_type()) flush();
    current.push_back(g);
    current_bytes += g.numel() * static_cast<int64_t>(g.element_size());
    if (current_bytes >= bucket_bytes) flush();
  }
  flush();
  return pending;
}

#else  // built without c10d/Gloo

bool distributed_available() { return false; }

struct ProcessGroup::Impl {};
struct ProcessGroup::PendingGradients::State {};

[[noreturn]] static void unavailable() {
  throw std::runtime_error(
      "this relnet was built without distributed training (c10d with Gloo): install libgloo-dev "
      "and rebuild (cmake -DRELNET_WITH_DISTRIBUTED=ON)");
}

ProcessGroup::ProcessGroup(const DistributedEnv&, std::chrono::milliseconds) { unavailable(); }
ProcessGroup::~ProcessGroup() = default;
int ProcessGroup::port() const { unavailable(); }
void ProcessGroup::broadcast(const std::vector<torch::Tensor>&, int) { unavailable(); }
std::vector<double> ProcessGroup::all_sum(const std::vector<double>&) { unavailable(); }
std::vector<double> ProcessGroup::all_max(const std::vector<double>&) { unavailable(); }
std::vector<int64_t> ProcessGroup::all_gather(int64_t) { unavailable(); }
void ProcessGroup::barrier() { unavailable(); }
ProcessGroup::PendingGradients::PendingGradients() = default;
ProcessGroup::PendingGradients::PendingGradients(PendingGradients&&) noexcept = default;
ProcessGroup::PendingGradients& ProcessGroup::PendingGradients::operator=(
    PendingGradients&&) noexcept = default;
ProcessGroup::PendingGradients::~PendingGradients() = default;
void ProcessGroup::PendingGradients::wait() {}
ProcessGroup::PendingGradients ProcessGroup::average_gradients_async(
    const std::vector<torch::Tensor>&, int64_t) {
  unavailable();
}

#endif

}  // namespace relnet
