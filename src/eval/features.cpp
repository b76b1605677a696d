// Frozen evaluation features and the report fields evaluations share.
#include "relnet/eval/features.h"

#include <spdlog/spdlog.h>

#include <chrono>
#include <filesystem>
#include <stdexcept>

#include "relnet/augment/pipeline.h"
#include "relnet/train/finite.h"
#include "relnet/util/runtime.h"

namespace relnet {

using nlohmann::json;

EvalData load_eval_model(const EvalSource& src) {
  if (src.train_subset < 0 || src.test_subset < 0) {
    throw std::invalid_argument("--train-subset and --test-subset must be >= 0");
  }
  const Checkpoint ck = load_checkpoint(src.checkpoint);
  // Every evaluation reads its model here: none runs on NaN or inf weights.
  if (!src.random_init) {
    require_finite_checkpoint(ck, src.checkpoint,
                              "nothing can be evaluated on it; evaluate an earlier checkpoint "
                              "(epoch_<E>.pt) or retrain with a lower train.lr");
  }
  EvalData d;
  const std::string recorded_backbone = ck.meta.value("backbone", "");
  d.backbone_name = src.backbone.empty() ? recorded_backbone : src.backbone;
  if (d.backbone_name.empty()) {
    std::string names;
    for (const auto& n : known_backbones()) names += (names.empty() ? "" : ", ") + n;
    throw std::runtime_error(
        "checkpoint '" + src.checkpoint +
        "' has no relnet metadata naming its backbone (saved by PyTorch?): pass "
        "--backbone NAME (" +
        names + ") and --dataset");
  }
  if (!recorded_backbone.empty() && recorded_backbone != d.backbone_name) {
    throw std::invalid_argument("checkpoint '" + src.checkpoint + "' holds a " + recorded_backbone +
                                " backbone, not " + d.backbone_name + " (drop --backbone)");
  }
  const json saved_config = ck.meta.value("config", json::object());
  // A linear.pt's classifier belongs to the dataset it was trained on.
  const json linear = ck.meta.value("linear_eval", json::object());
  const std::string own_dataset = linear.value("dataset", ck.meta.value("dataset", ""));
  d.dataset = src.dataset.empty() ? own_dataset : src.dataset;
  d.data_root = src.data_root;
  if (d.data_root.empty()) d.data_root = linear.value("data_root", "");
  if (d.data_root.empty() && saved_config.contains("data")) {
    d.data_root = saved_config["data"].value("root", "");
  }
  if (d.dataset.empty()) {
    throw std::invalid_argument("no dataset: the checkpoint records none, pass --dataset");
  }
  if (!is_known_dataset(d.dataset))
    throw std::invalid_argument("unknown dataset '" + d.dataset + "'");
  if (d.data_root.empty()) throw std::invalid_argument("no data root: pass --data-root");

  d.device = resolve_device(src.device);
  d.threads = set_threads(src.threads);

  torch::manual_seed(static_cast<uint64_t>(src.seed));
  d.backbone = make_backbone(d.backbone_name);
  if (!src.random_init) {
    load_state_dict(*d.backbone, ck.backbone, "checkpoint '" + src.checkpoint + "'");
  }
  d.backbone->to(d.device);
  d.backbone->eval();

  d.normalization = dataset_normalization(d.dataset, d.data_root);
  const json& recorded = linear.contains("normalization") ? linear : ck.meta;
  if (d.dataset == own_dataset && recorded.contains("normalization")) {
    const auto& n = recorded["normalization"];
    for (size_t c = 0; c < 3; ++c) {
      d.normalization.mean[c] = n["mean"][c].get<float>();
      d.normalization.std[c] = n["std"][c].get<float>();
    }
  }
  // Cross-domain evaluation: images are resized to the side the backbone was
  // trained on (recorded in the checkpoint), so features keep their scale.
  d.image_side = ck.meta.value("image_side", int64_t{0});
  d.checkpoint_meta = ck.meta;
  d.classifier = ck.classifier;
  return d;
}

EvalData load_eval_data(const EvalSource& src, const std::string& what, bool with_train) {
  EvalData d = load_eval_model(src);
  ImageDataset train;
  if (with_train) {
    train = load_dataset(d.dataset, d.data_root, Split::kTrain, src.train_subset, d.image_side);
  }
  const ImageDataset test =
      load_dataset(d.dataset, d.data_root, Split::kTest, src.test_subset, d.image_side);
  spdlog::info("{} of {} backbone{} on {} ({} train / {} test images), device {}, {} threads", what,
               d.backbone_name,
               src.random_init ? " with RANDOM weights" : " from '" + src.checkpoint + "'",
               d.dataset, train.size(), test.size(), d.device.str(), d.threads);

  const auto t0 = std::chrono::steady_clock::now();
  const int64_t D = d.backbone->feature_size();
  d.train_features = with_train
                         ? extract_features(*d.backbone, train.images, d.normalization, d.device)
                         : torch::empty({0, D});
  d.test_features = extract_features(*d.backbone, test.images, d.normalization, d.device);
  d.features_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  spdlog::info("frozen features ({} train + {} test, {} wide) computed once in {:.1f} s",
               d.train_features.size(0), d.test_features.size(0), D, d.features_seconds);
  d.train_labels = with_train ? train.labels : torch::empty({0}, torch::kInt64);
  d.test_labels = test.labels;
  d.num_classes = test.num_classes;
  d.class_names = test.class_names;
  return d;
}

json eval_report_header(const EvalSource& src, const EvalData& d) {
  return json{{"checkpoint", src.checkpoint},
              {"backbone", d.backbone_name},
              {"random_init", src.random_init},
              {"dataset", d.dataset},
              {"data_root", d.data_root},
              {"train_images", d.train_features.size(0)},
              {"test_images", d.test_features.size(0)},
              {"feature_size", d.train_features.size(1)},
              {"classes", d.num_classes},
              {"features_seconds", d.features_seconds}};
}

std::string eval_output_path(const std::string& explicit_out, const std::string& checkpoint,
                             const std::string& file_name, bool random_init) {
  if (!explicit_out.empty()) return explicit_out;
  std::filesystem::path name(file_name);
  if (random_init) name = name.stem().string() + "_random_init" + name.extension().string();
  return (std::filesystem::path(checkpoint).parent_path() / name).string();
}

void save_classifier_checkpoint(const std::string& path, const EvalData& d,
                                torch::nn::Module& backbone, torch::nn::Linear& classifier,
                                const std::vector<std::string>& class_names, const json& summary) {
  Checkpoint saved;
  saved.backbone = state_dict(backbone);
  saved.classifier = state_dict(*classifier);
  saved.meta = d.checkpoint_meta.is_object() ? d.checkpoint_meta : json::object();
  saved.meta["backbone"] = d.backbone_name;
  saved.meta["feature_size"] = classifier->options.in_features();
  json entry{{"dataset", d.dataset},
             {"data_root", d.data_root},
             {"normalization", {{"mean", d.normalization.mean}, {"std", d.normalization.std}}},
             {"classes", classifier->options.out_features()},
             {"class_names", class_names}};
  entry.update(summary);
  saved.meta["linear_eval"] = entry;
  save_checkpoint(path, saved);
}

}  // namespace relnet
