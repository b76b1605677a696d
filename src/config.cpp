// Config parsing: one place that knows every key, its type and its range.
#include "relnet/config.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <sstream>
#include <stdexcept>

#include "relnet/data/dataset.h"
#include "relnet/models/backbone.h"
#include "relnet/util/json.h"

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

// At most kEchoLimit characters of `text`, so a huge value or key is not
// echoed whole in a message: "<first 80>... (123456 characters)".
constexpr size_t kEchoLimit = 80;
std::string shorten(const std::string& text) {
  if (text.size() <= kEchoLimit) return text;
  return text.substr(0, kEchoLimit) + "... (" + std::to_string(text.size()) + " characters)";
}

[[noreturn]] void fail(const std::string& key, const std::string& what, const json& found) {
  throw std::invalid_argument(shorten(key) + " must be " + what + ", got " + shorten(found.dump()) +
                              " (" + type_name(found) + ")");
}

// One key of the config: its dotted name, the type and range it accepts
// (for the schema), what it means, and the reader that checks and stores a
// JSON value into a Config. The table in fields() is the only place a key is
// declared: parsing, `relnet config schema` and docs/CONFIG.md all come from it.
using Reader = std::function<void(const json&)>;
struct Field {
  std::string key;
  std::string type;
  std::string meaning;
  Reader read;
  std::string default_text;  // shown instead of the default value when set
};

std::string range_text(double lo, double hi, bool lo_open) {
  std::ostringstream s;
  s << (lo_open ? "(" : "[") << lo << ", " << hi << "]";
  return s.str();
}

Field int_field(const std::string& key, int64_t& out, int64_t min_value, std::string meaning) {
  return {key, "int >= " + std::to_string(min_value), std::move(meaning),
          [key, &out, min_value](const json& v) {
            if (!v.is_number_integer()) fail(key, "an integer", v);
            const int64_t x = v.get<int64_t>();
            if (x < min_value) {
              throw std::invalid_argument(key + " must be >= " + std::to_string(min_value) +
                                          ", got " + std::to_string(x));
            }
            out = x;
          },
          ""};
}

// An integer with an upper bound too: the sizes that set a step's memory
// (K, batch, image side, widths) cannot be asked for absurdly large.
Field bounded_int_field(const std::string& key, int64_t& out, int64_t min_value, int64_t max_value,
                        std::string meaning) {
  Field f = int_field(key, out, min_value, std::move(meaning));
  f.type = "int in [" + std::to_string(min_value) + ", " + std::to_string(max_value) + "]";
  const Reader at_least = f.read;
  f.read = [key, &out, max_value, at_least](const json& v) {
    if (v.is_number_unsigned() && v.get<uint64_t>() > static_cast<uint64_t>(max_value)) {
      fail(key, "<= " + std::to_string(max_value), v);
    }
    at_least(v);
    if (out > max_value) fail(key, "<= " + std::to_string(max_value), v);
  };
  return f;
}

Field double_field(const std::string& key, double& out, double lo, double hi, bool lo_open,
                   std::string meaning) {
  const std::string range = range_text(lo, hi, lo_open);
  return {key, "number in " + range, std::move(meaning),
          [=, &out](const json& v) {
            if (!v.is_number()) fail(key, "a number", v);
            const double x = v.get<double>();
            if (!(lo_open ? x > lo : x >= lo) || !(x <= hi)) fail(key, "in " + range, v);
            out = x;
          },
          ""};
}

std::string join(const std::vector<std::string>& items, const std::string& sep) {
  std::string s;
  for (const auto& i : items) s += (s.empty() ? "" : sep) + i;
  return s;
}

Field string_field(const std::string& key, std::string& out,
                   const std::vector<std::string>& allowed, std::string meaning) {
  return {key, allowed.empty() ? "string" : "one of " + join(allowed, " | "), std::move(meaning),
          [=, &out](const json& v) {
            if (!v.is_string()) fail(key, "a string", v);
            const std::string s = v.get<std::string>();
            if (!allowed.empty() && std::find(allowed.begin(), allowed.end(), s) == allowed.end()) {
              fail(key, "one of " + join(allowed, " | "), v);
            }
            out = s;
          },
          ""};
}

Field bool_field(const std::string& key, bool& out, std::string meaning) {
  return {key, "bool", std::move(meaning),
          [key, &out](const json& v) {
            if (!v.is_boolean()) fail(key, "true or false", v);
            out = v.get<bool>();
          },
          ""};
}

Field triple_field(const std::string& key, std::vector<double>& out, bool positive,
                   std::string meaning) {
  return {key, positive ? "3 numbers > 0, or []" : "3 numbers, or []", std::move(meaning),
          [=, &out](const json& v) {
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
          },
          ""};
}

Field with_default_text(Field f, std::string text) {
  f.default_text = std::move(text);
  return f;
}

// Every key, in the order of the schema and of config_to_json.
std::vector<Field> fields(Config& c) {
  auto& d = c.data;
  auto& a = c.augment;
  auto& m = c.model;
  auto& t = c.train;
  auto& me = c.method;
  return {
      with_default_text(
          string_field("name", c.name, {}, "run name; the run directory defaults to `runs/<name>`"),
          "the config file's stem"),
      string_field("data.dataset", d.dataset, known_datasets(),
                   "`stl10` reads the binary format; `supercifar100` is CIFAR-100's 20 coarse "
                   "classes; `image_folder` is `<root>/<class>/<image>` (tiny-ImageNet, "
                   "SlimageNet64); `fashion_mnist` and `mnist` read IDX files, gzip or raw; "
                   "`packed` memory-maps a pack made by `relnet data pack` (a `data.root` "
                   "holding a pack is recognised under its source's name too). See the README's "
                   "Datasets section"),
      string_field("data.split", d.split, {"auto", "train", "test", "unlabeled"},
                   "split to self-supervise on: `auto` is the dataset's unlabeled split where it "
                   "has one (STL-10), else `train`"),
      bounded_int_field("data.image_size", d.image_size, 0, 4096,
                        "side every image is resized to when loaded (0 = native; image folders "
                        "default to 64; a pack is never resized: 0 or its own side)"),
      string_field("data.root", d.root, {},
                   "folder holding the dataset: the data root `relnet download` filled "
                   "(`cifar-10-batches-bin/`, `cifar-100-binary/`, `stl10_binary/`, `mnist/`, "
                   "`fashion-mnist/`) or the dataset's own folder; for `image_folder` the folder "
                   "with the class folders (or with `train/` and `val/`); for `packed` the pack "
                   "folder (with `pack.json`)"),
      int_field("data.subset", d.subset, 0,
                "train on the first N images only (0 = all); must be 0 or >= "
                "`train.batch_size`"),
      triple_field("data.mean", d.mean, false,
                   "per-channel normalization mean after scaling to [0,1]; `[]` = the dataset's "
                   "(CIFAR-10 0.491, 0.482, 0.447; Fashion-MNIST 0.286; MNIST 0.1307; a pack: "
                   "its source's, from pack.json)"),
      triple_field("data.std", d.std, true,
                   "per-channel std; `[]` = the dataset's (CIFAR-10 0.247, 0.243, 0.262; "
                   "Fashion-MNIST 0.353; MNIST 0.3081)"),
      bounded_int_field(
          "data.workers", d.workers, 0, 1024,
          "threads building augmented views ahead of the model step; 0 = automatic: on a "
          "CPU none (each batch is built on the intra-op threads when the step needs it), "
          "on a GPU cores - 1"),
      bounded_int_field("data.prefetch", d.prefetch, 1, 1024,
                        "batches the augmentation workers prepare ahead of the model step"),
      bounded_int_field(
          "augment.K", a.K, 2, 256,
          "augmented views per image (the paper: 32; 16 for ResNet-34); a step has K*B "
          "views and K(K-1)B pairs"),
      double_field("augment.crop_scale_min", a.crop_scale_min, 0, 1, true,
                   "RandomResizedCrop: smallest crop area, as a fraction of the image"),
      double_field("augment.crop_scale_max", a.crop_scale_max, 0, 1, true,
                   "RandomResizedCrop: largest crop area (>= `crop_scale_min`)"),
      double_field("augment.crop_ratio_min", a.crop_ratio_min, 0, 100, true,
                   "RandomResizedCrop: smallest aspect ratio (width / height)"),
      double_field("augment.crop_ratio_max", a.crop_ratio_max, 0, 100, true,
                   "RandomResizedCrop: largest aspect ratio (>= `crop_ratio_min`)"),
      double_field("augment.flip_p", a.flip_p, 0, 1, false, "horizontal flip probability"),
      double_field("augment.jitter_p", a.jitter_p, 0, 1, false,
                   "probability of colour jitter per view (the four jitters in random order)"),
      double_field("augment.brightness", a.brightness, 0, 100, false,
                   "brightness jitter x: factor drawn from [max(0, 1-x), 1+x]; 0 disables"),
      double_field("augment.contrast", a.contrast, 0, 100, false,
                   "contrast jitter, as `brightness`"),
      double_field("augment.saturation", a.saturation, 0, 100, false,
                   "saturation jitter, as `brightness`"),
      double_field("augment.hue", a.hue, 0, 0.5, false, "hue shift drawn from [-x, x]"),
      double_field("augment.grayscale_p", a.grayscale_p, 0, 1, false,
                   "probability of converting a view to grayscale"),
      string_field("model.backbone", m.backbone, known_backbones(),
                   "`resnet8/32/56` are the CIFAR ResNets (feature 64), `resnet18/34` the "
                   "ImageNet-style ones (feature 512), `conv4` the paper's 4-block CNN (feature "
                   "64); see the README's table"),
      string_field("model.aggregation", m.aggregation, {"cat", "sum", "mean", "max"},
                   "how two features form a pair: `cat` (concatenation, 2D wide; the paper's "
                   "default and best), or elementwise `sum`, `mean`, `max` (D wide)"),
      bounded_int_field("model.head_hidden", m.head_hidden, 1, 65536,
                        "hidden width of the relation head"),
      string_field("model.loss", m.loss, {"bce", "focal"},
                   "`bce` (binary cross-entropy with logits) or `focal` (sigmoid focal loss, "
                   "the reference's full code)"),
      double_field("model.focal_gamma", m.focal_gamma, 0, 100, false,
                   "focal loss exponent: weight \\|1 - p_t\\|^gamma"),
      double_field("model.focal_alpha", m.focal_alpha, 0, 1, false,
                   "focal loss weight of positive pairs (negatives get 1 - alpha)"),
      bool_field("model.pairs_matrix", m.pairs_matrix,
                 "build the K(K-1)B x 2D pairs matrix and feed it to the head as the paper's "
                 "code does, instead of projecting each view once through the head's first "
                 "layer; the same loss and gradients (tested), slower and with more memory; for "
                 "checking results only"),
      bool_field("model.fused", m.fused,
                 "run Conv4's first two blocks (convolutions included) and each later block's "
                 "BatchNorm -> ReLU -> pooling, and the relation head's BatchNorm -> LeakyReLU -> "
                 "Linear over all pairs, as relnet's fused CPU kernels while training (float32 "
                 "on CPU); `false` runs LibTorch's modules: the same results within float "
                 "rounding (tested), slower"),
      string_field("method.name", me.name, known_methods(),
                   "the training method: `relational` (relational reasoning), `simclr`, "
                   "`deepcluster`, `infomax` (Deep InfoMax), `rotation` (RotationNet) or "
                   "`supervised` (the labels: the upper bound); see the README's methods table"),
      double_field("method.temperature", me.temperature, 0, 100, true,
                   "`simclr`: temperature of the cosine similarities"),
      string_field("method.simclr_loss", me.simclr_loss, {"reference", "ntxent"},
                   "`simclr`: `reference` is the reference's -log(mean_i r_i); `ntxent` the usual "
                   "NT-Xent, mean_i(-log r_i)"),
      bounded_int_field(
          "method.projection_dim", me.projection_dim, 1, 65536,
          "`simclr`: output width of the projection head Linear(D, `model.head_hidden`) -> "
          "BatchNorm -> LeakyReLU -> Linear(`model.head_hidden`, this)"),
      with_default_text(
          int_field("method.clusters", me.clusters, 0,
                    "`deepcluster`: clusters k; 0 = the dataset's classes x 10 (set it for "
                    "unlabeled data)"),
          "`0` (classes x 10)"),
      int_field("method.kmeans_iterations", me.kmeans_iterations, 1,
                "`deepcluster`: k-means iterations per restart, every epoch"),
      int_field("method.kmeans_restarts", me.kmeans_restarts, 1,
                "`deepcluster`: k-means restarts (the lowest objective wins), every epoch"),
      int_field("method.crop_padding", me.crop_padding, -1,
                "`deepcluster`, `rotation`, `supervised`: RandomCrop's zero padding in pixels; "
                "-1 = by side (4 at 32 px, 8 at 64, 12 at 96: side / 8)"),
      double_field("method.infomax_beta", me.infomax_beta, 0, 100, false,
                   "`infomax`: weight of the local mutual-information term"),
      double_field("method.infomax_gamma", me.infomax_gamma, 0, 100, false,
                   "`infomax`: weight of the prior-matching term"),
      int_field("train.epochs", t.epochs, 1, "epochs over the (subset of the) training set"),
      bounded_int_field("train.batch_size", t.batch_size, 2, 1048576,
                        "images per step; the last incomplete batch of an epoch is dropped"),
      with_default_text(
          double_field("train.lr", t.lr, 0, 10, false,
                       "learning rate of the method's optimizer (Adam; SGD with momentum 0.9 for "
                       "`supervised`); 0 = the method's default: 1e-3, `infomax` 1e-4, "
                       "`supervised` 0.1"),
          "`0` (the method's)"),
      int_field("train.seed", t.seed, 0, "seed of weight init, shuffling and augmentation"),
      bounded_int_field("train.threads", t.threads, 0, 4096,
                        "LibTorch intra-op threads; 0 = all cores"),
      with_default_text(string_field("train.device", t.device, {},
                                     "`auto` (CUDA if available), `cpu`, `cuda`, `cuda:N`"),
                        "`auto`"),
      string_field("train.out_dir", t.out_dir, {}, "run directory; empty = `runs/<name>`"),
      int_field("train.log_interval", t.log_interval, 1,
                "steps between progress lines (when output is not a terminal) and "
                "`metrics.jsonl` step records"),
      int_field("train.checkpoint_interval", t.checkpoint_interval, 1,
                "epochs between `checkpoint.pt`/`backbone.pt` saves (always saved at the end)"),
      int_field("train.epoch_checkpoints", t.epoch_checkpoints, 0,
                "every N epochs also keep a full checkpoint as `epoch_<E>.pt` in the run "
                "directory (0 = none); copy one to `checkpoint.pt` to resume from that epoch, "
                "or evaluate it directly"),
      int_field("train.keep_last", t.keep_last, 0,
                "keep only the newest N `epoch_<E>.pt` files, deleting older ones after each "
                "save (0 = keep all)"),
      int_field("train.dist_timeout_s", t.dist_timeout_s, 1,
                "data-parallel runs (`relnet launch`, or RANK/WORLD_SIZE set): seconds joining "
                "the group or one collective may take before every surviving rank stops with "
                "an error, so a dead rank never hangs the others"),
      string_field("train.precision", t.precision, {"fp32", "bf16"},
                   "`bf16` runs the forward passes of backbone and head under autocast in "
                   "bfloat16 (weights, gradients, features and loss stay fp32; no loss scaling "
                   "needed). Meant for GPUs with bf16 units; on CPUs without them it is slower. "
                   "Default fp32 until bf16 is shown to reach the same linear-eval accuracy"),
      bool_field("train.deterministic", t.deterministic,
                 "CUDA: use deterministic cuDNN algorithms; otherwise cuDNN's benchmark mode "
                 "picks the fastest per shape (CPU runs are deterministic either way)"),
      int_field("train.monitor_every", t.monitor_every, 0,
                "every N epochs (and after the last) measure the backbone without touching the "
                "training: kNN top-1/top-5 accuracy on the dataset's labelled splits (as `relnet "
                "knn --train-subset monitor_neighbours --test-subset monitor_queries --k "
                "monitor_k`) and the collapse monitor (std of the L2-normalised features against "
                "1/sqrt(D)); in `metrics.jsonl`, `train.log` and `curves.png`. Unlabelled data: "
                "the collapse monitor alone. 0 = never"),
      int_field("train.monitor_neighbours", t.monitor_neighbours, 1,
                "the kNN monitor's neighbours: the first N images of the train split"),
      int_field("train.monitor_queries", t.monitor_queries, 1,
                "the kNN monitor's queries: the first N images of the test split (on unlabelled "
                "data: the first N training images, for the collapse monitor)"),
      int_field("train.monitor_k", t.monitor_k, 1, "neighbours that vote in the kNN monitor"),
  };
}

void read_config(const json& j, Config& c) {
  if (!j.is_object()) fail("the config", "an object", j);
  const std::vector<Field> all = fields(c);
  // Known keys per section ("" = top level, where sections are keys too).
  std::map<std::string, std::vector<std::string>> known;
  for (const auto& f : all) {
    const auto dot = f.key.find('.');
    if (dot == std::string::npos) {
      known[""].push_back(f.key);
    } else {
      const std::string section = f.key.substr(0, dot);
      auto& top = known[""];
      if (std::find(top.begin(), top.end(), section) == top.end()) top.push_back(section);
      known[section].push_back(f.key.substr(dot + 1));
    }
  }
  auto sorted = [](std::vector<std::string> v) {
    std::sort(v.begin(), v.end());
    return join(v, ", ");
  };
  auto find = [&all](const std::string& key) -> const Field* {
    for (const auto& f : all) {
      if (f.key == key) return &f;
    }
    return nullptr;
  };
  for (const auto& [key, value] : j.items()) {
    if (known.count(key) && key != "") {
      if (!value.is_object()) fail(key, "an object", value);
      for (const auto& [sub, v] : value.items()) {
        const Field* f = find(key + "." + sub);
        if (!f) {
          throw std::invalid_argument("unknown key '" + shorten(sub) + "' in " + key +
                                      " (known keys: " + sorted(known[key]) + ")");
        }
        f->read(v);
      }
      continue;
    }
    const Field* f = find(key);
    if (!f) {
      throw std::invalid_argument("unknown key '" + shorten(key) +
                                  "' in the config (known keys: " + sorted(known[""]) + ")");
    }
    f->read(value);
  }
}

void validate_device(const std::string& device) {
  if (device == "auto" || device == "cpu" || device == "cuda") return;
  if (device.rfind("cuda:", 0) == 0 && device.size() > 5 &&
      device.find_first_not_of("0123456789", 5) == std::string::npos) {
    return;
  }
  throw std::invalid_argument("train.device must be auto | cpu | cuda | cuda:N, got \"" +
                              shorten(device) + "\"");
}

void validate(const Config& c) {
  if (c.augment.crop_scale_min > c.augment.crop_scale_max) {
    throw std::invalid_argument(
        "augment.crop_scale_min (" + std::to_string(c.augment.crop_scale_min) +
        ") must be <= augment.crop_scale_max (" + std::to_string(c.augment.crop_scale_max) + ")");
  }
  if (c.augment.crop_ratio_min > c.augment.crop_ratio_max) {
    throw std::invalid_argument(
        "augment.crop_ratio_min (" + std::to_string(c.augment.crop_ratio_min) +
        ") must be <= augment.crop_ratio_max (" + std::to_string(c.augment.crop_ratio_max) + ")");
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

namespace {

// The number a "number overflow parsing '1e999'" message quotes.
std::string overflowing_number(const std::string& message) {
  const auto open = message.find("parsing '");
  if (open == std::string::npos) return "a number";
  const auto start = open + 9;
  return shorten(message.substr(start, message.rfind('\'') - start));
}

// Parses the config file's JSON, naming the file, and for a number too large
// for a double (1e999) the key holding it (the dotted path of the last key
// read).
json parse_config_file(std::istream& in, const std::string& path) {
  std::vector<std::string> keys;
  const json::parser_callback_t track = [&keys](int depth, json::parse_event_t event,
                                                json& parsed) {
    if (event == json::parse_event_t::key && depth > 0) {
      keys.resize(static_cast<size_t>(depth - 1));
      keys.push_back(parsed.is_string() ? parsed.get<std::string>() : std::string("?"));
    }
    return true;
  };
  try {
    return parse_json(in, track);
  } catch (const json::parse_error& e) {
    throw std::runtime_error("config file '" + path + "' is not valid JSON: " + e.what());
  } catch (const JsonTooDeep& e) {
    throw std::runtime_error("config file '" + path + "' is " + e.what());
  } catch (const json::out_of_range& e) {
    std::string key;
    for (const auto& k : keys) key += (key.empty() ? "" : ".") + k;
    throw std::runtime_error(
        "config file '" + path + "': " + (key.empty() ? std::string("a value") : shorten(key)) +
        ": " + overflowing_number(e.what()) + " is out of range (larger than any double)");
  }
}

}  // namespace

Config load_config(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error("cannot open config file '" + path + "'");
  json j = parse_config_file(in, path);
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
        {"pairs_matrix", m.pairs_matrix},
        {"fused", m.fused}}},
      {"method",
       {{"name", c.method.name},
        {"temperature", c.method.temperature},
        {"simclr_loss", c.method.simclr_loss},
        {"projection_dim", c.method.projection_dim},
        {"clusters", c.method.clusters},
        {"kmeans_iterations", c.method.kmeans_iterations},
        {"kmeans_restarts", c.method.kmeans_restarts},
        {"crop_padding", c.method.crop_padding},
        {"infomax_beta", c.method.infomax_beta},
        {"infomax_gamma", c.method.infomax_gamma}}},
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
        {"keep_last", t.keep_last},
        {"dist_timeout_s", t.dist_timeout_s},
        {"precision", t.precision},
        {"deterministic", t.deterministic},
        {"monitor_every", t.monitor_every},
        {"monitor_neighbours", t.monitor_neighbours},
        {"monitor_queries", t.monitor_queries},
        {"monitor_k", t.monitor_k}}},
  };
}

namespace {

// A --set value that is not JSON, taken as a string (train.device=cpu). It
// must be UTF-8, as JSON strings are: printing it in a message or a saved
// config would throw otherwise.
json bare_string(const std::string& path, const std::string& text) {
  json value = text;
  try {
    value.dump();
  } catch (const json::type_error&) {
    throw std::invalid_argument("override of " + path + ": the value is not valid UTF-8 text");
  }
  return value;
}

// The JSON merge patch of one "section.key=value" assignment.
json override_patch(const std::string& assignment) {
  const auto eq = assignment.find('=');
  if (eq == std::string::npos || eq == 0) {
    throw std::invalid_argument("override '" + shorten(assignment) +
                                "' must look like section.key=value");
  }
  const std::string path = assignment.substr(0, eq);
  const std::string text = assignment.substr(eq + 1);
  json value;
  try {
    value = parse_json(text);
  } catch (const json::parse_error&) {
    value = bare_string(path, text);  // bare strings: --set train.device=cpu
  } catch (const json::out_of_range& e) {
    throw std::invalid_argument("--set " + shorten(path) + ": " + overflowing_number(e.what()) +
                                " is out of range (larger than any double)");
  } catch (const JsonTooDeep& e) {
    throw std::invalid_argument("override of " + path + ": the value is " + e.what());
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

std::vector<ConfigKey> config_schema() {
  Config defaults;
  const json values = config_to_json(defaults);
  std::vector<ConfigKey> out;
  for (const Field& f : fields(defaults)) {
    const auto dot = f.key.find('.');
    const json& v = dot == std::string::npos
                        ? values.at(f.key)
                        : values.at(f.key.substr(0, dot)).at(f.key.substr(dot + 1));
    out.push_back({f.key, f.type, f.meaning, v, f.default_text});
  }
  return out;
}

namespace {

std::string default_shown(const ConfigKey& k) {
  return k.default_text.empty() ? k.default_value.dump() : k.default_text;
}

std::string markdown_cell(std::string s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    // Pipes split table cells; keep those already escaped.
    if (s[i] == '|' && (i == 0 || s[i - 1] != '\\')) out += '\\';
    out += s[i];
  }
  return out;
}

}  // namespace

std::string format_config_schema() {
  std::ostringstream s;
  for (const ConfigKey& k : config_schema()) {
    std::string meaning = k.meaning;
    meaning.erase(std::remove(meaning.begin(), meaning.end(), '`'), meaning.end());
    size_t p;
    while ((p = meaning.find("\\|")) != std::string::npos) meaning.replace(p, 2, "|");
    std::string def = default_shown(k);
    def.erase(std::remove(def.begin(), def.end(), '`'), def.end());
    s << k.key << "  (" << k.type << "; default " << def << ")\n    " << meaning << "\n";
  }
  return s.str();
}

std::string config_reference_markdown() {
  std::ostringstream s;
  s << "# Configuration keys\n\n"
       "<!-- Generated by `relnet config schema --markdown`; a test fails when this file and\n"
       "     the program disagree. Regenerate: relnet config schema --markdown > docs/CONFIG.md "
       "-->\n\n"
       "A config is a JSON object with the sections below; every key is optional and\n"
       "defaults to the value shown. Unknown keys and out-of-range values are\n"
       "rejected with a message naming the key (`unknown key 'learnig_rate' in\n"
       "train`, `train.batch_size must be >= 2, got -4`). Any key can be overridden on\n"
       "the command line with `--set section.key=value` (the value is parsed as JSON,\n"
       "or taken as a string: `--set train.device=cpu`); overrides are validated\n"
       "together, like the file. `relnet config show FILE [--set ...]` prints the\n"
       "effective config with every default filled in, and `relnet config schema`\n"
       "prints this table on a terminal. The effective config is logged at start and\n"
       "written to `<out_dir>/config.json`.\n\n"
       "Constraints between keys: `augment.crop_scale_min <= augment.crop_scale_max`,\n"
       "`augment.crop_ratio_min <= augment.crop_ratio_max`, and `data.subset` is 0 or\n"
       ">= `train.batch_size`.\n\n"
       "| key | type | default | meaning |\n"
       "|---|---|---|---|\n";
  for (const ConfigKey& k : config_schema()) {
    std::string def = default_shown(k);
    if (k.default_text.empty()) def = "`" + def + "`";
    s << "| `" << k.key << "` | " << markdown_cell(k.type) << " | " << markdown_cell(def) << " | "
      << markdown_cell(k.meaning) << " |\n";
  }
  return s.str();
}

Normalization effective_normalization(const DataConfig& data) {
  Normalization norm = dataset_normalization(data.dataset, data.root);
  for (size_t c = 0; c < 3; ++c) {
    if (!data.mean.empty()) norm.mean[c] = static_cast<float>(data.mean[c]);
    if (!data.std.empty()) norm.std[c] = static_cast<float>(data.std[c]);
  }
  return norm;
}

const std::vector<std::string>& known_methods() {
  static const std::vector<std::string> names = {"relational", "simclr",   "deepcluster",
                                                 "infomax",    "rotation", "supervised"};
  return names;
}

std::string run_dir(const Config& config) {
  return config.train.out_dir.empty() ? "runs/" + config.name : config.train.out_dir;
}

}  // namespace relnet
