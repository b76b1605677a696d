// Fuzzes the checkpoint loader (checkpoint.pt, backbone.pt, linear.pt):
// load_checkpoint (the zip container and pickle through LibTorch's
// pickle_load, the legacy-format check, the dict's entries and their types,
// the "meta" JSON), then what a command does with a loaded file: the
// backbone's state dict copied into a Conv4 (load_state_dict: keys and
// shapes) and a saved optimizer state restored into Adam over its
// parameters (optimizer_state_from_ivalue).
#include <torch/torch.h>

#include "fuzz_common.h"
#include "relnet/models/backbone.h"
#include "relnet/train/checkpoint.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace relnet::fuzz;
  static relnet::Backbone backbone = relnet::make_backbone("conv4");
  const fs::path path = scratch() / "checkpoint.pt";
  write_bytes(path, data, size);
  run_parser([&] {
    const relnet::Checkpoint checkpoint = relnet::load_checkpoint(path.string());
    relnet::load_state_dict(*backbone, checkpoint.backbone, path.string());
    if (checkpoint.optimizer) {
      torch::optim::Adam adam(backbone->parameters());
      relnet::optimizer_state_from_ivalue(adam, *checkpoint.optimizer, path.string());
    }
  });
  return 0;
}
