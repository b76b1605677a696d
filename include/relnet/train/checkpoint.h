// PyTorch-compatible checkpoint files: a pickled dict written with
// torch::pickle_save that Python's torch.load opens, shaped like the
// reference: {"backbone": {key: tensor}, <method modules>: {key: tensor}...,
// "optimizer": {...}, "meta": "<json>"}, where the method's modules are
// saved under their own keys ("relation" for relational reasoning, "head"
// for SimCLR, ...: methods/method.h). backbone.pt holds "backbone" and
// "meta" only; linear.pt (linear-eval) holds "backbone", "classifier" and
// "meta".
#pragma once

#include <torch/torch.h>

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace relnet {

// A module's parameters and buffers under their state-dict names, in
// registration order (parameters, then buffers, per module, as PyTorch).
using StateDict = std::vector<std::pair<std::string, torch::Tensor>>;

StateDict state_dict(const torch::nn::Module& module);

// Copies `dict` into `module` (strict: same keys, same shapes). On mismatch
// throws std::runtime_error naming `what` (e.g. the checkpoint path), the
// first missing/unexpected key, or the first key whose shapes differ with
// both shapes.
void load_state_dict(torch::nn::Module& module, const StateDict& dict, const std::string& what);

// Adam state for every parameter of `params` (in order), in the layout of
// PyTorch's optimizer.state_dict(): {"state": {i: {"step", "exp_avg",
// "exp_avg_sq"}}, "param_groups": [{"lr", "betas", "eps", ..., "params"}]}.
c10::IValue adam_state_to_ivalue(torch::optim::Adam& optimizer);
// Restores what adam_state_to_ivalue wrote into an optimizer over the same
// parameters. Throws std::runtime_error naming `what` on any mismatch.
void adam_state_from_ivalue(torch::optim::Adam& optimizer, const c10::IValue& state,
                            const std::string& what);

// The state of an Adam or SGD optimizer (torch::optim::SGD: {"state": {i:
// {"momentum_buffer"}}, "param_groups": [{"lr", "momentum", "dampening",
// "weight_decay", "nesterov", ..., "params"}]}, as PyTorch's SGD writes it).
// Throws std::invalid_argument for another optimizer type.
c10::IValue optimizer_state_to_ivalue(torch::optim::Optimizer& optimizer);
// Restores what optimizer_state_to_ivalue wrote into an optimizer of the same
// type over the same parameters; the learning rates saved are restored too.
// Throws std::runtime_error naming `what` on any mismatch.
void optimizer_state_from_ivalue(torch::optim::Optimizer& optimizer, const c10::IValue& state,
                                 const std::string& what);

// Modules' state dicts under their checkpoint keys, in save order.
using NamedStateDicts = std::vector<std::pair<std::string, StateDict>>;

struct Checkpoint {
  StateDict backbone;
  // The training method's modules (absent in backbone.pt): every top-level
  // entry other than backbone, classifier, optimizer and meta.
  NamedStateDicts modules;
  std::optional<c10::IValue> optimizer;  // absent in backbone.pt
  nlohmann::json meta;                   // {} when the file has none
  StateDict classifier;                  // linear.pt: linear-eval's Linear(D, classes)

  // The module saved under `key`, or nullptr.
  const StateDict* module(const std::string& key) const;
};

// Writes atomically (temporary file + rename). Throws std::runtime_error
// naming the path on failure, and before writing anything when a tensor is
// not finite (train/finite.h); an existing file is left intact.
void save_checkpoint(const std::string& path, const Checkpoint& checkpoint);

// Reads a file written by save_checkpoint or by Python
// torch.save({"backbone": dict(model.state_dict()), ...}). Throws
// std::runtime_error naming the path when the file is missing, truncated,
// not a pickled dict, lacks "backbone", or holds an OrderedDict (with the
// hint to wrap it in dict(...)).
Checkpoint load_checkpoint(const std::string& path);

}  // namespace relnet
