// Checkpoint files in PyTorch's pickle format.
#include "relnet/train/checkpoint.h"

#include <caffe2/serialize/inline_container.h>
#include <caffe2/serialize/read_adapter_interface.h>
#include <torch/csrc/jit/serialization/import_read.h>
#include <torch/serialize.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <functional>
#include <stdexcept>
#include <unordered_map>

#include "relnet/train/finite.h"
#include "relnet/train/pickle_compat.h"
#include "relnet/util/fs.h"
#include "relnet/util/json.h"

namespace relnet {
namespace {

std::string shape_str(const torch::Tensor& t) { return c10::str(t.sizes()); }

c10::impl::GenericDict tensor_dict(const StateDict& dict) {
  c10::impl::GenericDict out(c10::StringType::get(), c10::TensorType::get());
  for (const auto& [key, tensor] : dict) out.insert(key, tensor.detach().to(torch::kCPU));
  return out;
}

StateDict tensor_dict_from_ivalue(const c10::IValue& value, const std::string& what,
                                  const std::string& path) {
  if (value.isNone()) {
    throw std::runtime_error("checkpoint '" + path + "': '" + what +
                             "' could not be read: it was saved as a Python OrderedDict; save "
                             "dict(model.state_dict()) instead");
  }
  if (!value.isGenericDict()) {
    throw std::runtime_error("checkpoint '" + path + "': '" + what +
                             "' must be a dict of tensors, found " + value.tagKind());
  }
  StateDict out;
  for (const auto& entry : value.toGenericDict()) {
    if (!entry.key().isString() || !entry.value().isTensor()) {
      throw std::runtime_error("checkpoint '" + path + "': '" + what +
                               "' must map names to tensors, found a " + entry.key().tagKind() +
                               " -> " + entry.value().tagKind() + " entry");
    }
    out.emplace_back(entry.key().toStringRef(), entry.value().toTensor());
  }
  return out;
}

// Entries of a checkpoint that are not a method's module.
bool is_reserved_key(const std::string& key) {
  return key == "backbone" || key == "classifier" || key == "optimizer" || key == "meta";
}

}  // namespace

// PyTorch's order: a module's own parameters, then its own buffers, then
// each child's, depth first in registration order.
static void collect_state(const torch::nn::Module& module, const std::string& prefix,
                          StateDict& out) {
  for (const auto& p : module.named_parameters(/*recurse=*/false)) {
    out.emplace_back(prefix + p.key(), p.value());
  }
  for (const auto& b : module.named_buffers(/*recurse=*/false)) {
    out.emplace_back(prefix + b.key(), b.value());
  }
  for (const auto& child : module.named_children()) {
    collect_state(*child.value(), prefix + child.key() + ".", out);
  }
}

StateDict state_dict(const torch::nn::Module& module) {
  StateDict out;
  collect_state(module, "", out);
  return out;
}

void load_state_dict(torch::nn::Module& module, const StateDict& dict, const std::string& what) {
  const StateDict own = state_dict(module);
  std::unordered_map<std::string, const torch::Tensor*> given;
  for (const auto& [key, tensor] : dict) given[key] = &tensor;
  for (const auto& [key, tensor] : own) {
    auto it = given.find(key);
    if (it == given.end()) {
      throw std::runtime_error(what + ": missing key '" + key + "' (expected shape " +
                               shape_str(tensor) + "); the file holds " +
                               std::to_string(dict.size()) + " keys, the network needs " +
                               std::to_string(own.size()));
    }
    if (it->second->sizes() != tensor.sizes()) {
      throw std::runtime_error(what + ": key '" + key + "' has shape " + shape_str(*it->second) +
                               ", the network expects " + shape_str(tensor) +
                               " (a checkpoint of another network?)");
    }
  }
  if (dict.size() != own.size()) {
    std::unordered_map<std::string, bool> known;
    for (const auto& [key, tensor] : own) known[key] = true;
    for (const auto& [key, tensor] : dict) {
      if (!known.count(key)) {
        throw std::runtime_error(what + ": unexpected key '" + key + "' with shape " +
                                 shape_str(tensor) + " (a checkpoint of another network?)");
      }
    }
  }
  torch::NoGradGuard no_grad;
  for (auto& [key, tensor] : own) {
    const torch::Tensor& src = *given.at(key);
    tensor.copy_(src.to(tensor.device(), tensor.scalar_type()));
  }
}

namespace {

using GenericDict = c10::impl::GenericDict;

GenericDict string_dict() { return GenericDict(c10::StringType::get(), c10::AnyType::get()); }

// PyTorch's optimizer.state_dict() layout: {"state": {i: entry(param state)},
// "param_groups": [{hyper-parameters..., "params": [i...]}]}, parameters
// numbered in order over the groups; only parameters with state have an entry.
template <typename ParamState, typename Options>
c10::IValue optimizer_dict(torch::optim::Optimizer& optimizer,
                           const std::function<void(ParamState&, GenericDict&)>& state_entry,
                           const std::function<void(const Options&, GenericDict&)>& group_entry) {
  GenericDict state(c10::IntType::get(), c10::AnyType::get());
  c10::impl::GenericList groups(c10::AnyType::get());
  int64_t index = 0;
  auto& all_state = optimizer.state();
  for (auto& group : optimizer.param_groups()) {
    c10::impl::GenericList ids(c10::IntType::get());
    for (auto& p : group.params()) {
      auto it = all_state.find(c10::guts::to_string(p.unsafeGetTensorImpl()));
      if (it != all_state.end()) {
        GenericDict entry = string_dict();
        state_entry(static_cast<ParamState&>(*it->second), entry);
        state.insert(index, entry);
      }
      ids.push_back(index++);
    }
    GenericDict g = string_dict();
    group_entry(static_cast<const Options&>(group.options()), g);
    g.insert("params", ids);
    groups.push_back(g);
  }
  GenericDict out = string_dict();
  out.insert("state", state);
  out.insert("param_groups", groups);
  return out;
}

// Replaces the optimizer's state by what optimizer_dict wrote: make_state
// turns the entry of parameter i (checked to exist) into its state, throwing
// through `bad` on a mismatch.
using Bad = std::function<std::runtime_error(const std::string&)>;
template <typename ParamState>
void restore_optimizer(
    torch::optim::Optimizer& optimizer, const c10::IValue& value, const std::string& what,
    const std::function<std::unique_ptr<ParamState>(int64_t, const torch::Tensor&,
                                                    const GenericDict&, const Bad&)>& make_state) {
  const Bad bad = [&](const std::string& why) {
    return std::runtime_error(what + ": optimizer state unreadable: " + why);
  };
  if (!value.isGenericDict()) throw bad("expected a dict, found " + value.tagKind());
  const auto dict = value.toGenericDict();
  if (!dict.contains("state")) throw bad("no 'state' entry");
  std::vector<torch::Tensor> params;
  for (auto& group : optimizer.param_groups()) {
    for (auto& p : group.params()) params.push_back(p);
  }
  auto& all_state = optimizer.state();
  all_state.clear();
  try {
    for (const auto& entry : dict.at("state").toGenericDict()) {
      const int64_t i = entry.key().toInt();
      if (i < 0 || i >= static_cast<int64_t>(params.size())) {
        throw bad("parameter index " + std::to_string(i) + " out of range (the network has " +
                  std::to_string(params.size()) + " parameters)");
      }
      all_state[c10::guts::to_string(params[i].unsafeGetTensorImpl())] =
          make_state(i, params[i], entry.value().toGenericDict(), bad);
    }
  } catch (const c10::Error& e) {  // an entry of another type than the layout's
    all_state.clear();
    const std::string reason = e.what();
    throw bad(reason.substr(0, reason.find('\n')));
  }
}

// The saved tensor `key` of parameter i, of the parameter's shape.
torch::Tensor saved_like(int64_t i, const torch::Tensor& param, const GenericDict& s,
                         const std::string& key, const std::string& optimizer_name,
                         const Bad& bad) {
  if (!s.contains(key)) {
    throw bad("parameter " + std::to_string(i) + " has no " + key + " (not " + optimizer_name +
              " state?)");
  }
  const torch::Tensor t = s.at(key).toTensor();
  if (t.sizes() != param.sizes()) {
    throw bad("parameter " + std::to_string(i) + " has shape " + shape_str(param) + ", the saved " +
              key + " has " + shape_str(t));
  }
  return t.to(param.device()).clone();
}

}  // namespace

c10::IValue adam_state_to_ivalue(torch::optim::Adam& optimizer) {
  return optimizer_dict<torch::optim::AdamParamState, torch::optim::AdamOptions>(
      optimizer,
      [](torch::optim::AdamParamState& s, GenericDict& entry) {
        entry.insert("step", torch::tensor(static_cast<float>(s.step())));
        entry.insert("exp_avg", s.exp_avg().detach().to(torch::kCPU));
        entry.insert("exp_avg_sq", s.exp_avg_sq().detach().to(torch::kCPU));
      },
      [](const torch::optim::AdamOptions& opts, GenericDict& g) {
        g.insert("lr", opts.lr());
        g.insert("betas",
                 c10::ivalue::Tuple::create(std::get<0>(opts.betas()), std::get<1>(opts.betas())));
        g.insert("eps", opts.eps());
        g.insert("weight_decay", opts.weight_decay());
        g.insert("amsgrad", opts.amsgrad());
        g.insert("maximize", false);
        g.insert("foreach", c10::IValue());
        g.insert("capturable", false);
        g.insert("differentiable", false);
        g.insert("fused", false);
      });
}

void adam_state_from_ivalue(torch::optim::Adam& optimizer, const c10::IValue& value,
                            const std::string& what) {
  restore_optimizer<torch::optim::AdamParamState>(
      optimizer, value, what,
      [](int64_t i, const torch::Tensor& p, const GenericDict& s, const Bad& bad) {
        auto restored = std::make_unique<torch::optim::AdamParamState>();
        restored->exp_avg(saved_like(i, p, s, "exp_avg", "Adam", bad));
        restored->exp_avg_sq(saved_like(i, p, s, "exp_avg_sq", "Adam", bad));
        if (!s.contains("step")) throw bad("parameter " + std::to_string(i) + " has no step");
        const auto step = s.at("step");
        // PyTorch saves the step as a float tensor: a whole number >= 0.
        const double steps =
            step.isTensor() ? step.toTensor().item<double>() : static_cast<double>(step.toInt());
        if (!(steps >= 0 && steps <= 1e15)) {
          throw bad("parameter " + std::to_string(i) + " has step " + std::to_string(steps));
        }
        restored->step(static_cast<int64_t>(steps));
        return restored;
      });
}

namespace {

c10::IValue sgd_state_to_ivalue(torch::optim::SGD& optimizer) {
  return optimizer_dict<torch::optim::SGDParamState, torch::optim::SGDOptions>(
      optimizer,
      [](torch::optim::SGDParamState& s, GenericDict& entry) {
        entry.insert("momentum_buffer", s.momentum_buffer().detach().to(torch::kCPU));
      },
      [](const torch::optim::SGDOptions& opts, GenericDict& g) {
        g.insert("lr", opts.lr());
        g.insert("momentum", opts.momentum());
        g.insert("dampening", opts.dampening());
        g.insert("weight_decay", opts.weight_decay());
        g.insert("nesterov", opts.nesterov());
        g.insert("maximize", false);
        g.insert("foreach", c10::IValue());
        g.insert("differentiable", false);
      });
}

void sgd_state_from_ivalue(torch::optim::SGD& optimizer, const c10::IValue& value,
                           const std::string& what) {
  restore_optimizer<torch::optim::SGDParamState>(
      optimizer, value, what,
      [](int64_t i, const torch::Tensor& p, const GenericDict& s, const Bad& bad) {
        auto restored = std::make_unique<torch::optim::SGDParamState>();
        restored->momentum_buffer(saved_like(i, p, s, "momentum_buffer", "SGD", bad));
        return restored;
      });
}

}  // namespace

c10::IValue optimizer_state_to_ivalue(torch::optim::Optimizer& optimizer) {
  if (auto* adam = dynamic_cast<torch::optim::Adam*>(&optimizer))
    return adam_state_to_ivalue(*adam);
  if (auto* sgd = dynamic_cast<torch::optim::SGD*>(&optimizer)) return sgd_state_to_ivalue(*sgd);
  throw std::invalid_argument("checkpoints hold the state of Adam or SGD only");
}

void optimizer_state_from_ivalue(torch::optim::Optimizer& optimizer, const c10::IValue& state,
                                 const std::string& what) {
  if (auto* adam = dynamic_cast<torch::optim::Adam*>(&optimizer)) {
    adam_state_from_ivalue(*adam, state, what);
  } else if (auto* sgd = dynamic_cast<torch::optim::SGD*>(&optimizer)) {
    sgd_state_from_ivalue(*sgd, state, what);
  } else {
    throw std::invalid_argument("checkpoints hold the state of Adam or SGD only");
  }
}

const StateDict* Checkpoint::module(const std::string& key) const {
  for (const auto& [k, dict] : modules) {
    if (k == key) return &dict;
  }
  return nullptr;
}

void save_checkpoint(const std::string& path, const Checkpoint& checkpoint) {
  const std::string nonfinite = first_nonfinite_tensor(checkpoint);
  if (!nonfinite.empty()) {
    throw std::runtime_error("refusing to write checkpoint '" + path +
                             "': it would hold non-finite values (" + nonfinite +
                             "); the file on disk was left as it was");
  }
  c10::impl::GenericDict root(c10::StringType::get(), c10::AnyType::get());
  root.insert("backbone", tensor_dict(checkpoint.backbone));
  for (const auto& [key, dict] : checkpoint.modules) {
    if (is_reserved_key(key)) {
      throw std::invalid_argument("checkpoint '" + path + "': a module may not be saved as '" +
                                  key + "' (a reserved entry)");
    }
    root.insert(key, tensor_dict(dict));
  }
  if (!checkpoint.classifier.empty()) root.insert("classifier", tensor_dict(checkpoint.classifier));
  if (checkpoint.optimizer) root.insert("optimizer", *checkpoint.optimizer);
  root.insert("meta", checkpoint.meta.is_null() ? std::string("{}") : checkpoint.meta.dump());
  const std::vector<char> bytes = torch::pickle_save(c10::IValue(root));
  write_file_atomic(path, bytes.data(), bytes.size());
}

namespace {

// The bytes of a file for LibTorch's zip reader. torch::pickle_load's own
// reader copies as many bytes as asked for, past the end of the buffer when
// a corrupt archive's directory says so; this one hands over only what is
// there, and the zip reader reports the file as truncated.
class BoundedReader : public caffe2::serialize::ReadAdapterInterface {
 public:
  explicit BoundedReader(const std::vector<char>& bytes) : bytes_(bytes) {}
  size_t size() const override { return bytes_.size(); }
  size_t read(uint64_t pos, void* buf, size_t n, const char* /*what*/) const override {
    if (pos >= bytes_.size()) return 0;
    const size_t count = std::min<uint64_t>(n, bytes_.size() - pos);
    std::memcpy(buf, bytes_.data() + pos, count);
    return count;
  }

 private:
  const std::vector<char>& bytes_;
};

// What follows a pickle opcode: `fixed` bytes, or a little-endian length of
// `length_bytes` bytes and that many bytes, or `lines` newline-ended lines.
struct PickleArgument {
  size_t fixed = 0;
  size_t length_bytes = 0;
  int lines = 0;
};

// The argument of every opcode of pickle protocols 0 to 5; those without
// one (and any unknown opcode, which the unpickler refuses) take nothing.
PickleArgument pickle_argument(uint8_t op) {
  switch (op) {
    case 'K':
    case 'h':
    case 'q':
    case 0x80:
    case 0x82:  // BININT1 BINGET BINPUT PROTO EXT1
      return {1, 0, 0};
    case 'M':
    case 0x83:
      return {2, 0, 0};  // BININT2 EXT2
    case 'J':
    case 'j':
    case 'r':
    case 0x84:
      return {4, 0, 0};  // BININT LONG_BINGET/PUT EXT4
    case 'G':
    case 0x95:
      return {8, 0, 0};  // BINFLOAT FRAME
    case 'U':
    case 'C':
    case 0x8a:
    case 0x8c:
      return {0, 1, 0};  // short strings, LONG1
    case 'T':
    case 'X':
    case 'B':
    case 0x8b:
      return {0, 4, 0};  // strings, bytes, LONG4
    case 0x8d:
    case 0x8e:
    case 0x96:
      return {0, 8, 0};  // 8-byte-length ones
    case 'I':
    case 'L':
    case 'F':
    case 'S':
    case 'V':
    case 'g':
    case 'p':
    case 'P':
      return {0, 0, 1};
    case 'c':
    case 'i':
      return {0, 0, 2};  // GLOBAL, INST: module and name
    default:
      return {};
  }
}

// The little-endian number of `bytes` bytes at `p`.
uint64_t little_endian(const char* p, size_t bytes) {
  uint64_t v = 0;
  for (size_t i = 0; i < bytes; ++i) v |= uint64_t{static_cast<uint8_t>(p[i])} << (8 * i);
  return v;
}

// LibTorch's unpickler allocates (and fills) what a stream announces before
// reading it: every string's length, and a memo as long as the largest
// LONG_BINPUT index, so a 1 KB file can cost tens of GB. Walks the stream's
// opcodes first and throws when a length runs past its end or a memo index
// exceeds the number of bytes (Python numbers memo entries from 0, one per
// PUT).
void check_pickle_lengths(const char* data, size_t size) {
  size_t pos = 0;
  while (pos < size) {
    const size_t at = pos;
    const uint8_t op = static_cast<uint8_t>(data[pos++]);
    if (op == '.') return;  // STOP
    const PickleArgument arg = pickle_argument(op);
    uint64_t skip = arg.fixed;
    if (arg.length_bytes > 0) {
      if (arg.length_bytes > size - pos) break;
      skip = little_endian(data + pos, arg.length_bytes);
      pos += arg.length_bytes;
    }
    if (op == 'r' && skip <= size - pos && little_endian(data + pos, 4) > size) {
      throw std::runtime_error("its pickle stores memo entry " +
                               std::to_string(little_endian(data + pos, 4)) + " at byte " +
                               std::to_string(at) + ", more than its " + std::to_string(size) +
                               " bytes can number");
    }
    for (int line = 0; line < arg.lines && pos < size; ++line) {
      const void* end = std::memchr(data + pos, '\n', size - pos);
      pos = end ? static_cast<size_t>(static_cast<const char*>(end) - data) + 1 : size;
    }
    if (skip > size - pos) {
      throw std::runtime_error("its pickle announces " + std::to_string(skip) + " bytes at byte " +
                               std::to_string(at) + ", where " + std::to_string(size - pos) +
                               " are left");
    }
    pos += skip;
  }
  throw std::runtime_error("its pickle ends without a STOP opcode");
}

// torch::pickle_load(bytes) with BoundedReader under it and the pickle's
// lengths checked first.
c10::IValue unpickle_checked(const std::vector<char>& bytes) {
  caffe2::serialize::PyTorchStreamReader reader(std::make_shared<BoundedReader>(bytes));
  if (reader.hasRecord("data.pkl")) {
    const auto [data, size] = reader.getRecord("data.pkl");
    check_pickle_lengths(static_cast<const char*>(data.get()), size);
  }
  return torch::jit::readArchiveAndTensors("data", /*pickle_prefix=*/"", /*tensor_prefix=*/"",
                                           /*type_resolver=*/c10::nullopt,
                                           /*obj_loader=*/c10::nullopt,
                                           /*device=*/c10::nullopt, reader);
}

// The root object of a checkpoint file. A file Python's torch.save wrote
// (a checkpoint.pt loaded and saved again, unchanged) may use pickle opcodes
// LibTorch 1.13 lacks: when LibTorch refuses it, it is read again with those
// opcodes rewritten (train/pickle_compat.h). Throws LibTorch's first error.
c10::IValue unpickle(const std::vector<char>& bytes) {
  try {
    return unpickle_checked(bytes);
  } catch (const std::exception&) {
    const auto rewritten = rewrite_python_checkpoint(bytes);
    if (!rewritten) throw;
    try {
      return unpickle_checked(*rewritten);
    } catch (const std::exception&) {
      // Not what the rewrite can mend: report the file's own error.
    }
    throw;
  }
}

}  // namespace

Checkpoint load_checkpoint(const std::string& path) {
  if (!std::filesystem::exists(path)) {
    throw std::runtime_error("checkpoint '" + path + "' does not exist");
  }
  const std::vector<char> bytes = read_file(path);
  // torch.save wrote a bare pickle stream (protocol 2, "\x80\x02") before
  // PyTorch 1.6 made the zip container ("PK\x03\x04") its default.
  if (bytes.size() >= 2 && static_cast<unsigned char>(bytes[0]) == 0x80 && bytes[1] == 0x02) {
    throw std::runtime_error(
        "checkpoint '" + path +
        "' is a legacy (pre-1.6, non-zip) torch.save file, which LibTorch cannot read; convert it "
        "in Python: torch.save(torch.load(path), path) with PyTorch >= 1.6 writes the zip format");
  }
  c10::IValue root;
  try {
    root = unpickle(bytes);
  } catch (const std::exception& e) {
    std::string reason = e.what();
    reason = reason.substr(0, reason.find('\n'));
    // Python pickles a one-entry dict with SETITEM (opcode 's', 0x73), which
    // LibTorch 1.13's unpickler does not implement; dicts of two or more
    // entries use SETITEMS and load.
    // An OrderedDict inside the dict unpickles to None, and filling it fails.
    if (std::string(e.what()).find("Expected GenericDict but got None") != std::string::npos) {
      throw std::runtime_error(
          "checkpoint '" + path +
          "': an entry was saved as a Python OrderedDict (what state_dict() "
          "returns), which LibTorch cannot read; save dict(model.state_dict()) "
          "instead");
    }
    if (reason.find("Unknown opcode for unpickling at 0x73") != std::string::npos) {
      throw std::runtime_error(
          "checkpoint '" + path +
          "' holds a one-entry dict saved by Python, which this LibTorch cannot unpickle; save it "
          "with a second entry, e.g. torch.save({\"backbone\": dict(model.state_dict()), "
          "\"meta\": \"{}\"}, path)");
    }
    throw std::runtime_error(
        "checkpoint '" + path + "' (" + std::to_string(bytes.size()) +
        " bytes) is not a readable PyTorch file (truncated or corrupt?): " + reason);
  }
  if (!root.isGenericDict()) {
    throw std::runtime_error(
        "checkpoint '" + path + "' must hold a dict with a 'backbone' entry, found " +
        root.tagKind() +
        (root.isNone() ? " (an OrderedDict? save a plain dict(...) instead)" : ""));
  }
  const auto dict = root.toGenericDict();
  if (!dict.contains("backbone")) {
    throw std::runtime_error("checkpoint '" + path + "' has no 'backbone' entry");
  }
  Checkpoint out;
  out.backbone = tensor_dict_from_ivalue(dict.at("backbone"), "backbone", path);
  for (const auto& entry : dict) {
    if (!entry.key().isString()) {
      throw std::runtime_error("checkpoint '" + path + "': entry names must be strings, found a " +
                               entry.key().tagKind());
    }
    const std::string key = entry.key().toStringRef();
    if (is_reserved_key(key)) continue;
    out.modules.emplace_back(key, tensor_dict_from_ivalue(entry.value(), key, path));
  }
  // The dict's order is insertion order; keep the modules in it.
  if (dict.contains("classifier")) {
    out.classifier = tensor_dict_from_ivalue(dict.at("classifier"), "classifier", path);
  }
  if (dict.contains("optimizer")) out.optimizer = dict.at("optimizer");
  if (dict.contains("meta")) {
    const auto meta = dict.at("meta");
    if (!meta.isString()) {
      throw std::runtime_error("checkpoint '" + path + "': 'meta' must be a JSON string");
    }
    try {
      out.meta = parse_json(meta.toStringRef());
      if (!out.meta.is_object()) throw std::runtime_error("not a JSON object");
    } catch (const std::exception& e) {
      throw std::runtime_error("checkpoint '" + path +
                               "': 'meta' is not a JSON object: " + e.what());
    }
  } else {
    out.meta = nlohmann::json::object();
  }
  return out;
}

}  // namespace relnet
