// Rewrites Python's single-item pickle opcodes into LibTorch-readable ones.
#include "relnet/train/pickle_compat.h"

#include <caffe2/serialize/inline_container.h>

#include <cstdint>
#include <cstring>
#include <map>
#include <sstream>

namespace relnet {
namespace {

// Bytes of argument after an opcode of fixed-size argument; -1 when the
// opcode is not one this rewrite knows, -2 for a newline-terminated pair
// (GLOBAL), -3 for a length-prefixed one (the length's bytes in `prefix`).
int argument_bytes(unsigned char op, int& prefix) {
  prefix = 0;
  switch (op) {
    case 0x80:
      return 1;  // PROTO
    case 'q':
    case 'h':
    case 'K':
      return 1;  // BINPUT, BINGET, BININT1
    case 'r':
    case 'j':
    case 'J':
      return 4;  // LONG_BINPUT, LONG_BINGET, BININT
    case 'M':
      return 2;  // BININT2
    case 'G':
      return 8;  // BINFLOAT
    case 'c':
      return -2;  // GLOBAL
    case 0x8a:
    case 'C':
    case 'U':
    case 0x8c:
      prefix = 1;
      return -3;  // LONG1, SHORT_BIN*
    case 'X':
    case 'B':
    case 'T':
      prefix = 4;
      return -3;  // BINUNICODE, BINBYTES, BINSTRING
    case 'Q':
    case 'R':
    case 'b':
    case '(':
    case 't':
    case 0x85:
    case 0x86:
    case 0x87:
    case ')':
    case ']':
    case '}':
    case 'a':
    case 'e':
    case 's':
    case 'u':
    case 'N':
    case 0x88:
    case 0x89:
    case '.':
    case 0x81:
    case '0':
      return 0;
    default:
      return -1;
  }
}

constexpr int64_t kMark = -1;  // a MARK on the simulated stack (its offset kept apart)

// The stack of a pickle machine reduced to where each item's opcodes start.
struct Stack {
  std::vector<int64_t> starts;  // offset of the first opcode building each item
  std::vector<bool> marks;      // whether the item is a MARK
  bool ok = true;
  void push(int64_t at, bool mark = false) {
    starts.push_back(at);
    marks.push_back(mark);
  }
  int64_t pop() {
    if (starts.empty() || marks.back()) {
      ok = false;
      return 0;
    }
    const int64_t at = starts.back();
    starts.pop_back();
    marks.pop_back();
    return at;
  }
  // The top must be an item (the list or dict an APPEND or SETITEM fills).
  void require_item() {
    if (starts.empty() || marks.back()) ok = false;
  }
  // Pops to and including the last MARK; returns the MARK's offset.
  int64_t pop_to_mark() {
    while (!marks.empty() && !marks.back()) pop();
    if (marks.empty()) {
      ok = false;
      return 0;
    }
    const int64_t at = starts.back();
    starts.pop_back();
    marks.pop_back();
    return at;
  }
};

// Applies opcode `op` (at `at`) to the stack; records in `marks_before`
// where a MARK goes for an APPEND or SETITEM. False for an unknown opcode.
bool step(unsigned char op, int64_t at, Stack& s, std::map<int64_t, int>& marks_before) {
  switch (op) {
    case 0x80:
    case 'q':
    case 'r':
    case '.':
      return true;
    case '(':
      s.push(at, true);
      return true;
    case 't':
      s.push(s.pop_to_mark());
      return true;
    case 0x85:
      s.push(s.pop());
      return true;
    case 0x86:
      s.pop();
      s.push(s.pop());
      return true;
    case 0x87:
      s.pop();
      s.pop();
      s.push(s.pop());
      return true;
    case 'e':
    case 'u':
      s.pop_to_mark();
      return true;
    case 'a':
      ++marks_before[s.pop()];
      s.require_item();
      return true;  // the list stays
    case 's':
      s.pop();
      ++marks_before[s.pop()];
      s.require_item();
      return true;  // the dict stays
    case 'Q':
      s.push(s.pop());
      return true;
    case 'R':
    case 0x81:
      s.pop();
      s.push(s.pop());
      return true;
    case 'b':
    case '0':
      s.pop();
      return true;
    default:
      s.push(at);
      return true;  // every other known opcode pushes one item
  }
}

}  // namespace

std::optional<std::vector<char>> batch_single_item_opcodes(const std::vector<char>& pickle) {
  Stack stack;
  std::map<int64_t, int> marks_before;
  std::vector<int64_t> singles;  // offsets of APPEND / SETITEM
  const auto n = static_cast<int64_t>(pickle.size());
  int64_t at = 0;
  bool stopped = false;
  while (at < n && !stopped) {
    const auto op = static_cast<unsigned char>(pickle[at]);
    int prefix = 0;
    const int arg = argument_bytes(op, prefix);
    int64_t next = at + 1;
    if (arg == -1) return std::nullopt;
    if (arg >= 0) next += arg;
    if (arg == -2) {  // GLOBAL: "module\nname\n"
      for (int lines = 0; lines < 2 && next <= n; ++next) {
        if (next < n && pickle[next] == '\n') ++lines;
      }
    }
    if (arg == -3) {
      if (next + prefix > n) return std::nullopt;
      uint32_t length = 0;
      std::memcpy(&length, pickle.data() + next, static_cast<size_t>(prefix));  // little-endian
      next += prefix + static_cast<int64_t>(length);
    }
    if (next > n || !step(op, at, stack, marks_before) || !stack.ok) return std::nullopt;
    if (op == 'a' || op == 's') singles.push_back(at);
    stopped = op == '.';
    at = next;
  }
  if (!stopped) return std::nullopt;
  std::vector<char> out;
  out.reserve(pickle.size() + 2 * singles.size());
  size_t single = 0;
  for (int64_t i = 0; i < n; ++i) {
    auto mark = marks_before.find(i);
    if (mark != marks_before.end()) out.insert(out.end(), static_cast<size_t>(mark->second), '(');
    if (single < singles.size() && singles[single] == i) {
      out.push_back(pickle[i] == 'a' ? 'e' : 'u');
      ++single;
    } else {
      out.push_back(pickle[i]);
    }
  }
  return out;
}

std::optional<std::vector<char>> rewrite_python_checkpoint(const std::vector<char>& bytes) {
  if (bytes.size() < 4 || bytes[0] != 'P' || bytes[1] != 'K') return std::nullopt;
  try {
    std::istringstream in(std::string(bytes.data(), bytes.size()));
    caffe2::serialize::PyTorchStreamReader reader(&in);
    auto [pickle_data, pickle_size] = reader.getRecord("data.pkl");
    const auto* p = static_cast<const char*>(pickle_data.get());
    const std::vector<char> pickle(p, p + pickle_size);
    const auto rewritten = batch_single_item_opcodes(pickle);
    if (!rewritten || *rewritten == pickle) return std::nullopt;
    std::vector<char> out;
    caffe2::serialize::PyTorchStreamWriter writer([&out](const void* data, size_t size) {
      const auto* c = static_cast<const char*>(data);
      out.insert(out.end(), c, c + size);
      return size;
    });
    for (const auto& name : reader.getAllRecords()) {
      if (name == "version" || name == ".data/version") continue;  // the writer adds its own
      if (name == "data.pkl") {
        writer.writeRecord(name, rewritten->data(), rewritten->size());
      } else {
        auto [data, size] = reader.getRecord(name);
        writer.writeRecord(name, data.get(), size);
      }
    }
    writer.writeEndOfFile();
    return out;
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

}  // namespace relnet
