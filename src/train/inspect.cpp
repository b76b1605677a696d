// Describes a checkpoint file for `relnet inspect`.
#include "relnet/train/inspect.h"

#include <spdlog/fmt/fmt.h>

#include <filesystem>
#include <sstream>

#include "relnet/models/backbone.h"
#include "relnet/train/checkpoint.h"

namespace relnet {

using nlohmann::json;

namespace {

json describe(const StateDict& dict) {
  int64_t values = 0;
  for (const auto& [key, t] : dict) values += t.numel();
  return json{{"tensors", dict.size()}, {"values", values}};
}

std::string kind_of(const Checkpoint& ck) {
  if (!ck.classifier.empty()) return "linear classifier (linear.pt)";
  if (!ck.modules.empty() && ck.optimizer) return "training checkpoint (resumable)";
  if (ck.meta.empty()) return "backbone weights without relnet metadata";
  return "backbone (backbone.pt)";
}

}  // namespace

json inspect_checkpoint(const std::string& path) {
  const Checkpoint ck = load_checkpoint(path);
  json r{{"file", path},
         {"bytes", static_cast<int64_t>(std::filesystem::file_size(path))},
         {"kind", kind_of(ck)},
         {"meta", ck.meta}};
  r["entries"]["backbone"] = describe(ck.backbone);
  for (const auto& [key, dict] : ck.modules) r["entries"][key] = describe(dict);
  r["method"] =
      ck.meta.contains("backbone") ? json(ck.meta.value("method", "relational")) : json(nullptr);
  if (!ck.classifier.empty()) r["entries"]["classifier"] = describe(ck.classifier);
  if (ck.optimizer) {
    r["entries"]["optimizer"] = json::object();
    // Adam's step count, from the first parameter's state (SGD keeps none).
    try {
      const auto state = ck.optimizer->toGenericDict().at("state").toGenericDict();
      if (state.size() > 0) {
        const auto entry = state.begin()->value().toGenericDict();
        if (entry.contains("step")) {
          const auto step = entry.at("step");
          r["optimizer_step"] =
              step.isTensor() ? static_cast<int64_t>(step.toTensor().item<double>()) : step.toInt();
        }
      }
    } catch (const std::exception&) {
      r["optimizer_step"] = nullptr;
    }
  }
  const std::string name = ck.meta.value("backbone", "");
  json b{{"name", name.empty() ? json(nullptr) : json(name)}};
  if (!name.empty()) {
    try {
      Backbone net = make_backbone(name);
      b["parameters"] = count_parameters(*net);
      b["feature_size"] = net->feature_size();
      load_state_dict(*net, ck.backbone, "checkpoint '" + path + "'");
      b["loads"] = true;
    } catch (const std::exception& e) {
      b["loads"] = false;
      b["error"] = e.what();
    }
  }
  r["backbone"] = b;
  return r;
}

std::string format_inspection(const json& r) {
  std::ostringstream out;
  const json& meta = r["meta"];
  out << fmt::format("{} ({} bytes): {}\n", r["file"].get<std::string>(), r["bytes"].get<int64_t>(),
                     r["kind"].get<std::string>());
  if (meta.contains("relnet_version")) {
    const std::string commit = meta.value("git_commit", "");
    out << fmt::format("  written by relnet {}{}\n", meta["relnet_version"].get<std::string>(),
                       commit.empty() ? " (commit unknown)" : ", commit " + commit);
  }
  const json& b = r["backbone"];
  if (b["name"].is_string()) {
    out << fmt::format("  backbone {}", b["name"].get<std::string>());
    if (b.contains("parameters")) {
      out << fmt::format(": {} parameters, feature size {}", b["parameters"].get<int64_t>(),
                         b["feature_size"].get<int64_t>());
    }
    out << (b.value("loads", false)
                ? ", weights load: yes\n"
                : ", weights load: NO (" + b.value("error", std::string("?")) + ")\n");
  } else {
    out << "  no metadata naming the backbone (a PyTorch-written dict?): evaluation commands need "
           "--dataset\n";
  }
  for (const auto& [name, e] : r["entries"].items()) {
    if (e.contains("tensors")) {
      out << fmt::format("  {:<10} {} tensors, {} values\n", name, e["tensors"].get<int64_t>(),
                         e["values"].get<int64_t>());
    } else {
      out << fmt::format("  {:<10} present{}\n", name,
                         r.contains("optimizer_step") && r["optimizer_step"].is_number()
                             ? fmt::format(" (Adam, step {})", r["optimizer_step"].get<int64_t>())
                             : "");
    }
  }
  if (meta.contains("dataset")) {
    out << fmt::format("  trained on {} (side {}), epoch {}, global step {}\n",
                       meta["dataset"].get<std::string>(), meta.value("image_side", int64_t{0}),
                       meta.value("epoch", int64_t{0}), meta.value("global_step", int64_t{0}));
  }
  if (meta.contains("normalization")) {
    out << "  normalization " << meta["normalization"].dump() << "\n";
  }
  if (meta.contains("linear_eval")) {
    const json& l = meta["linear_eval"];
    out << fmt::format("  classifier: {} classes of {}, test accuracy {:.4f}\n",
                       l.value("classes", int64_t{0}), l.value("dataset", std::string("?")),
                       l.value("test_accuracy", 0.0));
  }
  if (meta.contains("config")) out << "  config " << meta["config"].dump() << "\n";
  return out.str();
}

}  // namespace relnet
