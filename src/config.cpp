// Config parsing: one place that knows every key, its type and its range.
#include "relnet/config.h"

#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <sstream>
#include <stdexcept>

#include "relnet/data/dataset.h"
#include "relnet/models/backbone.h"

namespace relnet {
namespace {

using nlohmann::json;

std::string type_name(const json& v) {
  if (v.is_boolean()) return "a boolean";
  if (v.is_number_integer()) return "an integer";
  if (v.is_number()) return "a number";
  if (v.is_string()) return "a string";
  if (v.is_array()) return "an array";
  if (v.is_object()) return "an object";
  return "null";
}

[[noreturn]] void fail(const std::string& key, const std::string& what, const json& found) {
  throw std::invalid_argument(key + " must be " + what + ", got " + found.dump() + " (" +
                              type_name(found) + ")");
}

// A section's fields: key -> reader of that key's JSON value.
using Reader = std::function<void(const json&)>;

void read_section(const json& j, const std::string& section,
                  const std::map<std::string, Reader>& readers) {
  if (!j.is_object()) fail(section, "an object", j);
  for (const auto& [key, value] : j.items()) {
    auto it = readers.find(key);
    if (it == readers.end()) {
      std::string known;
      for (const auto& [k, r] : readers) known += (known.empty() ? "" : ", ") + k;
      throw std::invalid_argument("unknown key '" + key + "' in " + section +
                                  " (known keys: " + known + ")");
    }
    it->second(value);
  }
}

Reader int_field(const std::string& key, int64_t& out, int64_t min_value) {
  return [key, &out, min_value](const json& v) {
    if (!v.is_number_integer()) fail(key, "an integer", v);
    const int64_t x = v.get<int64_t>();
    if (x < min_value) {
      throw std::invalid_argument(key + " must be >= " + std::to_string(min_value) + ", got " +
                                  std::to_string(x));
    }
    out = x;
  };
}

Reader double_field(const std::string& key, double& out, double lo, double hi,
                    bool lo_open = false) {
  return [=, &out](const json& v) {
    if (!v.is_number()) fail(key, "a number", v);
    const double x = v.get<double>();
    if (!(lo_open ? x > lo : x >= lo) || !(x <= hi)) {
      std::ostringstream range;
      range << "in " << (lo_open ? "(" : "[") << lo << ", " << hi << "]";
      fail(key, range.str(), v);
    }
    out = x;
  };
}

Reader string_field(const std::string& key, std::string& out,
                    const std::vector<std::string>& allowed = {}) {
  return [=, &out](const json& v) {
    if (!v.is_string()) fail(key, "a string", v);
    const std::string s = v.get<std::string>();
    if (!allowed.empty()) {
      bool ok = false;
      std::string list;
      for (const auto& a : allowed) {
        ok = ok || a == s;
        list += (list.empty() ? "" : " | ") + a;
      }
      if (!ok) fail(key, "one of " + list, v);
    }
    out = s;
  };
}

Reader bool_field(const std::string& key, bool& out) {
  return [key, &out](const json& v) {
    if (!v.is_boolean()) fail(key, "true or false", v);
    out = v.get<bool>();
  };
}

Reader triple_field(const std::string& key, std::vector<double>& out, bool positive) {
  return [=, &out](const json& v) {
    if (!v.is_array() || !(v.empty() || v.size() == 3)) {
      fail(key, "an array of 3 numbers (one per channel) or []", v);
    }
    std::vector<double> values;
    for (const auto& x : v) {
      if (!x.is_number()) fail(key, "an array of 3 numbers", v);
      if (positive && !(x.get<double>() > 0)) fail(key, "an array of 3 numbers > 0", v);
      values.push_back(x.get<double>());
    }
    out = values;
  };
}

void validate_device(const std::string& device) {
  if (device == "auto" || device == "cpu" || device == "cuda") return;
  if (device.rfind("cuda:", 0) == 0 && device.size() > 5 &&
      device.find_first_not_of("0123456789", 5) == std::string::npos) {
    return;
  }
  throw std::invalid_argument("train.device must be auto | cpu | cuda | cuda:N, got \"" + device +
                              "\"");
}

void read_config(const json& j, Config& c) {
  std::map<std::string, Reader> top = {
      {"name", string_field("name", c.name)},
      {"data",
       [&c](const json& v) {
         auto& d = c.data;
         read_section(v, "data",
                      {{"dataset", string_field("data.dataset", d.dataset, known_datasets())},
                       {"split", string_field("data.split", d.split,
                                              {"auto", "train", "test", "unlabeled"})},
                       {"image_size", int_field("data.image_size", d.image_size, 0)},
                       {"root", string_field("data.root", d.root)},
                       {"subset", int_field("data.subset", d.subset, 0)},
                       {"mean", triple_field("data.mean", d.mean, false)},
                       {"std", triple_field("data.std", d.std, true)},
                       {"workers", int_field("data.workers", d.workers, 0)},
                       {"prefetch", int_field("data.prefetch", d.prefetch, 1)}});
       }},
      {"augment",
       [&c](const json& v) {
         auto& a = c.augment;
         read_section(
             v, "augment",
             {{"K", int_field("augment.K", a.K, 2)},
              {"crop_scale_min", double_field("augment.crop_scale_min", a.crop_scale_min, 0, 1, true)},
              {"crop_scale_max", double_field("augment.crop_scale_max", a.crop_scale_max, 0, 1, true)},
              {"crop_ratio_min", double_field("augment.crop_ratio_min", a.crop_ratio_min, 0, 100, true)},
              {"crop_ratio_max", double_field("augment.crop_ratio_max", a.crop_ratio_max, 0, 100, true)},
              {"flip_p", double_field("augment.flip_p", a.flip_p, 0, 1)},
              {"jitter_p", double_field("augment.jitter_p", a.jitter_p, 0, 1)},
              {"brightness", double_field("augment.brightness", a.brightness, 0, 100)},
              {"contrast", double_field("augment.contrast", a.contrast, 0, 100)},
              {"saturation", double_field("augment.saturation", a.saturation, 0, 100)},
              {"hue", double_field("augment.hue", a.hue, 0, 0.5)},
              {"grayscale_p", double_field("augment.grayscale_p", a.grayscale_p, 0, 1)}});
       }},
      {"model",
       [&c](const json& v) {
         auto& m = c.model;
         read_section(v, "model",
                      {{"backbone", string_field("model.backbone", m.backbone, known_backbones())},
                       {"aggregation", string_field("model.aggregation", m.aggregation,
                                                    {"cat", "sum", "mean", "max"})},
                       {"head_hidden", int_field("model.head_hidden", m.head_hidden, 1)},
                       {"loss", string_field("model.loss", m.loss, {"bce", "focal"})},
                       {"focal_gamma", double_field("model.focal_gamma", m.focal_gamma, 0, 100)},
                       {"focal_alpha", double_field("model.focal_alpha", m.focal_alpha, 0, 1)},
                       {"pairs_matrix", bool_field("model.pairs_matrix", m.pairs_matrix)}});
       }},
      {"train",
       [&c](const json& v) {
         auto& t = c.train;
         read_section(
             v, "train",
             {{"epochs", int_field("train.epochs", t.epochs, 1)},
              {"batch_size", int_field("train.batch_size", t.batch_size, 2)},
              {"lr", double_field("train.lr", t.lr, 0, 10, true)},
              {"seed", int_field("train.seed", t.seed, 0)},
              {"threads", int_field("train.threads", t.threads, 0)},
              {"device", string_field("train.device", t.device)},
              {"out_dir", string_field("train.out_dir", t.out_dir)},
              {"log_interval", int_field("train.log_interval", t.log_interval, 1)},
              {"checkpoint_interval",
               int_field("train.checkpoint_interval", t.checkpoint_interval, 1)},
              {"epoch_checkpoints", int_field("train.epoch_checkpoints", t.epoch_checkpoints, 0)},
              {"keep_last", int_field("train.keep_last", t.keep_last, 0)}});
       }},
  };
  read_section(j, "the config", top);
}

void validate(const Config& c) {
  if (c.augment.crop_scale_min > c.augment.crop_scale_max) {
    throw std::invalid_argument("augment.crop_scale_min (" + std::to_string(c.augment.crop_scale_min) +
                                ") must be <= augment.crop_scale_max (" +
                                std::to_string(c.augment.crop_scale_max) + ")");
  }
  if (c.augment.crop_ratio_min > c.augment.crop_ratio_max) {
    throw std::invalid_argument("augment.crop_ratio_min (" + std::to_string(c.augment.crop_ratio_min) +
                                ") must be <= augment.crop_ratio_max (" +
                                std::to_string(c.augment.crop_ratio_max) + ")");
  }
  if (c.data.subset > 0 && c.data.subset < c.train.batch_size) {
    throw std::invalid_argument("data.subset (" + std::to_string(c.data.subset) +
                                ") must be 0 or >= train.batch_size (" +
                                std::to_string(c.train.batch_size) + ")");
  }
  validate_device(c.train.device);
  if (c.name.empty()) throw std::invalid_argument("name must not be empty");
}

}  // namespace

Config config_from_json(const json& j) {
  Config c;
  read_config(j, c);
  validate(c);
  return c;
}

Config load_config(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error("cannot open config file '" + path + "'");
  json j;
  try {
    j = json::parse(in);
  } catch (const json::parse_error& e) {
    throw std::runtime_error("config file '" + path + "' is not valid JSON: " + e.what());
  }
  if (j.is_object() && !j.contains("name")) {
    j["name"] = std::filesystem::path(path).stem().string();
  }
  try {
    return config_from_json(j);
  } catch (const std::invalid_argument& e) {
    throw std::invalid_argument("config file '" + path + "': " + e.what());
  }
}

json config_to_json(const Config& c) {
  const auto& d = c.data;
  const auto& a = c.augment;
  const auto& m = c.model;
  const auto& t = c.train;
  return json{
      {"name", c.name},
      {"data",
       {{"dataset", d.dataset},
        {"split", d.split},
        {"image_size", d.image_size},
        {"root", d.root},
        {"subset", d.subset},
        {"mean", d.mean},
        {"std", d.std},
        {"workers", d.workers},
        {"prefetch", d.prefetch}}},
      {"augment",
       {{"K", a.K},
        {"crop_scale_min", a.crop_scale_min},
        {"crop_scale_max", a.crop_scale_max},
        {"crop_ratio_min", a.crop_ratio_min},
        {"crop_ratio_max", a.crop_ratio_max},
        {"flip_p", a.flip_p},
        {"jitter_p", a.jitter_p},
        {"brightness", a.brightness},
        {"contrast", a.contrast},
        {"saturation", a.saturation},
        {"hue", a.hue},
        {"grayscale_p", a.grayscale_p}}},
      {"model",
       {{"backbone", m.backbone},
        {"aggregation", m.aggregation},
        {"head_hidden", m.head_hidden},
        {"loss", m.loss},
        {"focal_gamma", m.focal_gamma},
        {"focal_alpha", m.focal_alpha},
        {"pairs_matrix", m.pairs_matrix}}},
      {"train",
       {{"epochs", t.epochs},
        {"batch_size", t.batch_size},
        {"lr", t.lr},
        {"seed", t.seed},
        {"threads", t.threads},
        {"device", t.device},
        {"out_dir", t.out_dir},
        {"log_interval", t.log_interval},
        {"checkpoint_interval", t.checkpoint_interval},
        {"epoch_checkpoints", t.epoch_checkpoints},
        {"keep_last", t.keep_last}}},
  };
}

namespace {

// The JSON merge patch of one "section.key=value" assignment.
json override_patch(const std::string& assignment) {
  const auto eq = assignment.find('=');
  if (eq == std::string::npos || eq == 0) {
    throw std::invalid_argument("override '" + assignment + "' must look like section.key=value");
  }
  const std::string path = assignment.substr(0, eq);
  const std::string text = assignment.substr(eq + 1);
  json value;
  try {
    value = json::parse(text);
  } catch (const json::parse_error&) {
    value = text;  // bare strings: --set train.device=cpu
  }
  json patch = json::object();
  const auto dot = path.find('.');
  if (dot == std::string::npos) {
    patch[path] = value;
  } else {
    patch[path.substr(0, dot)][path.substr(dot + 1)] = value;
  }
  return patch;
}

}  // namespace

void apply_overrides(Config& config, const std::vector<std::string>& assignments) {
  json merged = config_to_json(config);
  for (const auto& a : assignments) merged.merge_patch(override_patch(a));
  config = config_from_json(merged);
}

void apply_override(Config& config, const std::string& assignment) {
  apply_overrides(config, {assignment});
}

std::string run_dir(const Config& config) {
  return config.train.out_dir.empty() ? "runs/" + config.name : config.train.out_dir;
}

}  // namespace relnet
