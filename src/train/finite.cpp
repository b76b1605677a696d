// Finiteness of checkpoints: the scan shared by saving and evaluation.
#include "relnet/train/finite.h"

#include <stdexcept>

namespace relnet {
namespace {

// "" when `t` is finite (or not floating point), else "NaN" or "inf".
std::string nonfinite_kind(const torch::Tensor& t) {
  if (!t.defined() || !t.is_floating_point() || t.numel() == 0) return "";
  const torch::Tensor x = t.detach();
  if (x.isfinite().all().item<bool>()) return "";
  return x.isnan().any().item<bool>() ? "NaN" : "inf";
}

std::string scan(const StateDict& dict, const std::string& entry) {
  for (const auto& [key, tensor] : dict) {
    const std::string kind = nonfinite_kind(tensor);
    if (!kind.empty()) return entry + "." + key + " (" + kind + ")";
  }
  return "";
}

// Every tensor inside an IValue (dicts, lists, tuples), depth first; `name`
// is the dotted path of keys leading to it.
std::string scan_ivalue(const c10::IValue& value, const std::string& name) {
  if (value.isTensor()) {
    const std::string kind = nonfinite_kind(value.toTensor());
    return kind.empty() ? "" : name + " (" + kind + ")";
  }
  if (value.isGenericDict()) {
    for (const auto& entry : value.toGenericDict()) {
      const c10::IValue& k = entry.key();
      const std::string key = k.isString() ? k.toStringRef()
                              : k.isInt()  ? std::to_string(k.toInt())
                                           : std::string("?");
      const std::string found = scan_ivalue(entry.value(), name + "." + key);
      if (!found.empty()) return found;
    }
  } else if (value.isList()) {
    const auto list = value.toList();
    for (size_t i = 0; i < list.size(); ++i) {
      const std::string found = scan_ivalue(list.get(i), name + "." + std::to_string(i));
      if (!found.empty()) return found;
    }
  } else if (value.isTuple()) {
    const auto& items = value.toTupleRef().elements();
    for (size_t i = 0; i < items.size(); ++i) {
      const std::string found = scan_ivalue(items[i], name + "." + std::to_string(i));
      if (!found.empty()) return found;
    }
  }
  return "";
}

}  // namespace

std::string first_nonfinite_tensor(const Checkpoint& checkpoint) {
  std::string found = scan(checkpoint.backbone, "backbone");
  for (const auto& [key, dict] : checkpoint.modules) {
    if (found.empty()) found = scan(dict, key);
  }
  if (found.empty()) found = scan(checkpoint.classifier, "classifier");
  if (found.empty() && checkpoint.optimizer)
    found = scan_ivalue(*checkpoint.optimizer, "optimizer");
  return found;
}

void require_finite_checkpoint(const Checkpoint& checkpoint, const std::string& path,
                               const std::string& advice) {
  const std::string found = first_nonfinite_tensor(checkpoint);
  if (found.empty()) return;
  throw std::runtime_error("checkpoint '" + path + "' holds non-finite values (" + found +
                           "): " + advice);
}

}  // namespace relnet
