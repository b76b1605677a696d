// Checkpoints written by Python's torch.save, made readable by LibTorch
// 1.13's unpickler. Python's pickler adds one item to a list with APPEND
// ('a') and one entry to a dict with SETITEM ('s'); LibTorch 1.13 knows only
// the batched forms APPENDS ('e') and SETITEMS ('u'), each preceded by a
// MARK. A checkpoint.pt loaded and saved again by PyTorch holds both (a
// one-group optimizer's "param_groups", a one-entry state dict). The
// rewrite below turns each single form into its batched equivalent, which
// unpickles to the same object.
#pragma once

#include <optional>
#include <string>
#include <vector>

namespace relnet {

// The pickle stream `pickle` (protocol 2, as torch.save writes it) with
// every APPEND and SETITEM replaced by MARK ... APPENDS / SETITEMS; the same
// bytes when it has neither. std::nullopt when the stream holds an opcode
// the rewrite does not know (nothing is guessed).
std::optional<std::vector<char>> batch_single_item_opcodes(const std::vector<char>& pickle);

// A torch.save zip file (`bytes`) with its data.pkl rewritten by
// batch_single_item_opcodes and every other record copied; std::nullopt
// when it is not such a file, the rewrite fails or changes nothing.
std::optional<std::vector<char>> rewrite_python_checkpoint(const std::vector<char>& bytes);

}  // namespace relnet
