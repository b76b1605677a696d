// Backbone factory.
#include "relnet/models/backbone.h"

#include <stdexcept>

#include "relnet/models/conv4.h"

namespace relnet {

const std::vector<std::string>& known_backbones() {
  static const std::vector<std::string> names = {"conv4"};
  return names;
}

Backbone make_backbone(const std::string& name) {
  if (name == "conv4") return Conv4().ptr();
  std::string list;
  for (const auto& n : known_backbones()) list += (list.empty() ? "" : ", ") + n;
  throw std::invalid_argument("unknown backbone '" + name + "' (known: " + list + ")");
}

int64_t count_parameters(const torch::nn::Module& module) {
  int64_t n = 0;
  for (const auto& p : module.parameters()) n += p.numel();
  return n;
}

}  // namespace relnet
