// Dataset summaries for `relnet data info`.
#include "relnet/data/info.h"

#include <spdlog/fmt/fmt.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <sstream>

#include "relnet/data/dataset.h"
#include "relnet/data/packed.h"

namespace relnet {

using nlohmann::json;

std::pair<std::array<double, 3>, std::array<double, 3>> channel_stats(const torch::Tensor& images) {
  TORCH_CHECK(images.dim() == 4 && images.size(1) == 3, "channel_stats expects (N, 3, H, W)");
  std::array<double, 3> sum{0, 0, 0}, sq{0, 0, 0};
  const int64_t n = images.size(0);
  const int64_t chunk = 4096;
  for (int64_t first = 0; first < n; first += chunk) {
    // (c, 3, H, W) -> (3, c*H*W) as double
    const torch::Tensor x = images.slice(0, first, std::min(n, first + chunk))
                                .transpose(0, 1)
                                .reshape({3, -1})
                                .to(torch::kFloat64);
    const torch::Tensor s = x.sum(1), q = (x * x).sum(1);
    for (int c = 0; c < 3; ++c) {
      sum[c] += s[c].item<double>();
      sq[c] += q[c].item<double>();
    }
  }
  const double count = static_cast<double>(images.numel() / 3);
  std::array<double, 3> mean{}, std{};
  for (int c = 0; c < 3; ++c) {
    const double m = sum[c] / count;
    mean[c] = m / 255.0;
    std[c] = std::sqrt(std::max(0.0, sq[c] / count - m * m)) / 255.0;
  }
  return {mean, std};
}

json dataset_info(const std::string& dataset, const std::string& root, int64_t image_size) {
  const DatasetSpec& spec = dataset_spec(dataset);
  json out = {{"dataset", dataset},
              {"root", root},
              {"description", spec.description},
              {"intact", true},
              {"splits", json::object()}};
  bool measured = false;
  for (const Split split : spec.splits) {
    json s;
    try {
      const ImageDataset ds = load_dataset(dataset, root, split, 0, image_size);
      s["images"] = ds.size();
      s["side"] = ds.side();
      s["classes"] = ds.num_classes;
      if (split != Split::kUnlabeled) {
        const torch::Tensor counts = torch::bincount(ds.labels, {}, ds.num_classes);
        std::vector<int64_t> per_class(counts.data_ptr<int64_t>(),
                                       counts.data_ptr<int64_t>() + counts.numel());
        s["per_class"] = per_class;
      }
      if (!out.contains("class_names")) out["class_names"] = ds.class_names;
      if (!measured && ds.size() > 0) {
        const auto [mean, std] = channel_stats(ds.images);
        out["measured"] = {{"split", to_string(split)}, {"mean", mean}, {"std", std}};
        measured = true;
      }
    } catch (const std::exception& e) {
      s["error"] = e.what();
      out["intact"] = false;
    }
    out["splits"][to_string(split)] = s;
  }
  const Normalization norm = dataset_normalization(dataset, root);
  out["default_normalization"] = {{"mean", norm.mean}, {"std", norm.std}};
  return out;
}

std::string format_dataset_info(const json& info) {
  std::ostringstream o;
  o << info["dataset"].get<std::string>() << " at '" << info["root"].get<std::string>()
    << "': " << info["description"].get<std::string>() << "\n";
  for (const auto& [name, s] : info["splits"].items()) {
    if (s.contains("error")) {
      o << fmt::format("  {:<10} ERROR: {}\n", name, s["error"].get<std::string>());
      continue;
    }
    o << fmt::format("  {:<10} {:>7} images, {}x{}, {} classes", name, s["images"].get<int64_t>(),
                     s["side"].get<int64_t>(), s["side"].get<int64_t>(),
                     s["classes"].get<int64_t>());
    if (s.contains("per_class")) {
      const auto counts = s["per_class"].get<std::vector<int64_t>>();
      const auto [lo, hi] = std::minmax_element(counts.begin(), counts.end());
      o << fmt::format(" ({}..{} per class)", *lo, *hi);
    } else {
      o << " (unlabeled)";
    }
    o << "\n";
  }
  if (info.contains("measured")) {
    const auto& m = info["measured"];
    const auto mean = m["mean"].get<std::vector<double>>();
    const auto std = m["std"].get<std::vector<double>>();
    o << fmt::format("  measured on {}: mean {:.4f} {:.4f} {:.4f}, std {:.4f} {:.4f} {:.4f}\n",
                     m["split"].get<std::string>(), mean[0], mean[1], mean[2], std[0], std[1],
                     std[2]);
  }
  const auto dm = info["default_normalization"]["mean"].get<std::vector<double>>();
  const auto ds = info["default_normalization"]["std"].get<std::vector<double>>();
  o << fmt::format("  relnet normalizes with mean {:.4f} {:.4f} {:.4f}, std {:.4f} {:.4f} {:.4f}\n",
                   dm[0], dm[1], dm[2], ds[0], ds[1], ds[2]);
  if (info.contains("class_names")) {
    const auto names = info["class_names"].get<std::vector<std::string>>();
    std::string list;
    for (size_t i = 0; i < names.size() && i < 10; ++i) list += (i ? ", " : "") + names[i];
    if (names.size() > 10) list += fmt::format(", ... ({} in all)", names.size());
    o << "  classes: " << list << "\n";
  }
  o << "  files intact: " << (info["intact"].get<bool>() ? "yes" : "NO") << "\n";
  return o.str();
}

json datasets_found(const std::string& root) {
  json found = json::array();
  std::error_code ec;
  const bool exists = std::filesystem::is_directory(root, ec);
  if (exists && is_pack(root)) {
    try {
      const PackInfo pack = read_pack_info(root);
      json splits = json::array();
      for (const auto& [split, _] : pack.splits) splits.push_back(to_string(split));
      found.push_back({{"dataset", "packed"}, {"source", pack.source}, {"splits", splits}});
    } catch (const std::exception&) {
      // a damaged manifest: nothing found (data info names the problem)
    }
    return {{"root", root}, {"exists", exists}, {"found", found}};
  }
  for (const DatasetSpec& spec : dataset_specs()) {
    if (spec.num_classes == 0 || !exists) continue;  // image folders and packs: not scanned
    json splits = json::array();
    for (const Split split : spec.splits) {
      try {
        (void)load_dataset(spec.name, root, split, /*subset=*/1);
        splits.push_back(to_string(split));
      } catch (const std::exception&) {
      }
    }
    if (!splits.empty()) found.push_back({{"dataset", spec.name}, {"splits", splits}});
  }
  return {{"root", root}, {"exists", exists}, {"found", found}};
}

std::string format_pack_report(const json& report) {
  std::ostringstream o;
  const auto& source = report["source"];
  const int64_t side = report["side"].get<int64_t>();
  o << fmt::format("pack at '{}': {} from '{}', {}x{}, {} classes, {:.1f} MB on disk\n",
                   report["root"].get<std::string>(), source["dataset"].get<std::string>(),
                   source["root"].get<std::string>(), side, side,
                   report["num_classes"].get<int64_t>(),
                   static_cast<double>(report["bytes_on_disk"].get<uint64_t>()) / 1e6);
  for (const auto& [name, s] : report["splits"].items()) {
    if (s.contains("error")) {
      o << fmt::format("  {:<10} ERROR: {}\n", name, s["error"].get<std::string>());
      continue;
    }
    o << fmt::format("  {:<10} {:>7} images", name, s["images"].get<int64_t>());
    if (s.contains("per_class")) {
      const auto counts = s["per_class"].get<std::vector<int64_t>>();
      const auto [lo, hi] = std::minmax_element(counts.begin(), counts.end());
      if (!counts.empty()) o << fmt::format(" ({}..{} per class)", *lo, *hi);
    } else {
      o << " (unlabeled)";
    }
    o << "\n";
  }
  const auto mean = report["normalization"]["mean"].get<std::vector<double>>();
  const auto std = report["normalization"]["std"].get<std::vector<double>>();
  o << fmt::format("  relnet normalizes with mean {:.4f} {:.4f} {:.4f}, std {:.4f} {:.4f} {:.4f}\n",
                   mean[0], mean[1], mean[2], std[0], std[1], std[2]);
  const bool intact = report["intact"].get<bool>();
  o << "  files intact: "
    << (intact ? (report["verified"].get<bool>() ? "yes (CRC-32 of every file checked)"
                                                 : "yes (structure; --verify checks every byte)")
               : "NO")
    << "\n";
  return o.str();
}

}  // namespace relnet
