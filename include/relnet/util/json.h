// JSON read from outside (configs, --set values, pack.json, checkpoint
// metadata) parsed with a bound on its nesting: printing or walking a value
// nested tens of thousands of levels deep recurses once per level and
// overflows the stack, so such input is refused while it is parsed.
#pragma once

#include <istream>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>

namespace relnet {

// Deepest nesting of arrays and objects accepted: far beyond any file relnet
// reads (a config nests 3 levels), far below what exhausts a thread's stack.
constexpr int kMaxJsonDepth = 64;

// Thrown by parse_json for input nested deeper than kMaxJsonDepth; what()
// reads "nested deeper than 64 levels of arrays and objects", for the caller
// to prefix with the file or key.
struct JsonTooDeep : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// nlohmann::json::parse with the nesting bound: throws as json::parse does
// for malformed text (json::parse_error; json::out_of_range for a number
// beyond a double, 1e999), JsonTooDeep for nesting too deep.
nlohmann::json parse_json(std::istream& in);
// The same, calling `also` for every parse event after the nesting check
// (e.g. to track the key being read).
nlohmann::json parse_json(std::istream& in, const nlohmann::json::parser_callback_t& also);
nlohmann::json parse_json(const std::string& text);

}  // namespace relnet
