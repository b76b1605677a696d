// `relnet inspect`: what a checkpoint file holds (checkpoint.pt, backbone.pt,
// epoch_<E>.pt, linear.pt or a PyTorch-written backbone dict): its entries,
// the network and whether the weights fit it, and the recorded metadata.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

namespace relnet {

// Reads `path` and describes it: {"file", "bytes", "kind", "entries": {name:
// {"tensors", "values"}}, "backbone": {"name", "parameters", "feature_size",
// "loads", "error"}, "optimizer_step", "meta"}. Throws like load_checkpoint
// for a file that is not a checkpoint at all.
nlohmann::json inspect_checkpoint(const std::string& path);

// The human-readable lines of an inspection.
std::string format_inspection(const nlohmann::json& report);

}  // namespace relnet
