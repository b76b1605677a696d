// Backbone factory.
#include "relnet/models/backbone.h"

#include <stdexcept>

#include "relnet/augment/pipeline.h"
#include "relnet/models/conv4.h"
#include "relnet/models/resnet.h"

namespace relnet {

const std::vector<std::string>& known_backbones() {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> all = {"conv4"};
    for (const auto& n : resnet_names()) all.push_back(n);
    return all;
  }();
  return names;
}

Backbone make_backbone(const std::string& name) {
  if (name == "conv4") return Conv4().ptr();
  for (const auto& n : resnet_names()) {
    if (name == n) return ResNet(resnet_spec(name)).ptr();
  }
  std::string list;
  for (const auto& n : known_backbones()) list += (list.empty() ? "" : ", ") + n;
  throw std::invalid_argument("unknown backbone '" + name + "' (known: " + list + ")");
}

torch::Tensor to_channels_last(const torch::Tensor& x) {
  return x.dim() == 4 ? x.contiguous(torch::MemoryFormat::ChannelsLast) : x;
}

torch::Tensor extract_features(BackboneImpl& backbone, const torch::Tensor& images,
                               const Normalization& norm, torch::Device device,
                               int64_t batch_size) {
  torch::NoGradGuard no_grad;
  backbone.eval();
  std::vector<torch::Tensor> chunks;
  for (int64_t start = 0; start < images.size(0); start += batch_size) {
    const int64_t end = std::min(start + batch_size, images.size(0));
    const auto x = normalize_images(images.slice(0, start, end), norm).to(device);
    chunks.push_back(backbone.forward(x).to(torch::kCPU));  // (end - start, D)
  }
  return torch::cat(chunks, 0);
}

int64_t count_parameters(const torch::nn::Module& module) {
  int64_t n = 0;
  for (const auto& p : module.parameters()) n += p.numel();
  return n;
}

}  // namespace relnet
