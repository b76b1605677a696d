// Finiteness of saved and loaded models: relnet never writes a checkpoint
// holding NaN or infinity, and no evaluation reads one. One scan over every
// tensor of a Checkpoint (backbone, the method's modules, the classifier,
// the optimizer's state), naming the first non-finite one.
#pragma once

#include <string>

#include "relnet/train/checkpoint.h"

namespace relnet {

// The first tensor of `checkpoint` holding a NaN or an infinity, as
// "<entry>.<key> (NaN)" or "<entry>.<key> (inf)", e.g. "backbone.0.weight
// (NaN)" or "optimizer.state.3.exp_avg_sq (inf)"; "" when every floating-point
// tensor is finite. Entries are scanned in file order: backbone, the modules,
// classifier, optimizer.
std::string first_nonfinite_tensor(const Checkpoint& checkpoint);

// Throws std::runtime_error "checkpoint 'path' holds non-finite values
// (<tensor>): ..." when first_nonfinite_tensor finds one; `advice` ends the
// message (what the user can do).
void require_finite_checkpoint(const Checkpoint& checkpoint, const std::string& path,
                               const std::string& advice);

}  // namespace relnet
