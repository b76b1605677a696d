// JSON parsing with a bound on nesting (util/json.h): the parser's callback
// sees every array and object as it opens and refuses one too deep before
// anything recursive touches the value.
#include "relnet/util/json.h"

namespace relnet {
namespace {

using nlohmann::json;

json::parser_callback_t depth_guard(json::parser_callback_t also = nullptr) {
  return [also](int depth, json::parse_event_t event, json& parsed) {
    const bool opens =
        event == json::parse_event_t::object_start || event == json::parse_event_t::array_start;
    // `depth` counts the containers around this one: 0 for the outermost.
    if (opens && depth >= kMaxJsonDepth) {
      throw JsonTooDeep("nested deeper than " + std::to_string(kMaxJsonDepth) +
                        " levels of arrays and objects");
    }
    return also ? also(depth, event, parsed) : true;
  };
}

}  // namespace

json parse_json(std::istream& in) { return json::parse(in, depth_guard()); }

json parse_json(std::istream& in, const json::parser_callback_t& also) {
  return json::parse(in, depth_guard(also));
}

json parse_json(const std::string& text) { return json::parse(text, depth_guard()); }

}  // namespace relnet
