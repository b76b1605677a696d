// Frozen features for evaluation: the backbone named in a checkpoint (or the
// same architecture with random weights), the train and test splits of the
// evaluation dataset normalized and un-augmented, forwarded once in eval mode
// under no-grad on the chosen device. Shared by linear-eval, knn and retrieval.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "relnet/data/dataset.h"
#include "relnet/models/backbone.h"
#include "relnet/train/checkpoint.h"

namespace relnet {

// Where the features come from; every evaluation command takes these flags.
struct EvalSource {
  /// backbone.pt (or checkpoint.pt) written by relnet train.
  std::string checkpoint;
  /// Dataset and root; empty = those recorded in the checkpoint.
  std::string dataset;
  std::string data_root;
  /// First N images of each split (0 = all).
  int64_t train_subset = 0;
  int64_t test_subset = 0;
  std::string device = "auto";
  int64_t threads = 0;
  /// The same architecture with fresh random weights (the paper's lower bound).
  bool random_init = false;
  /// Seed of the random weights (and of anything random the command does).
  int64_t seed = 1;
  /// Backbone name; empty = the one the checkpoint's meta names. Needed for
  /// weights saved by PyTorch (torch.save({"backbone": dict(state_dict)})).
  std::string backbone;
};

// The evaluation inputs: the network and where its data lives, features on
// the CPU (filled by load_eval_data only).
struct EvalData {
  std::string backbone_name;
  std::string dataset;
  std::string data_root;
  Backbone backbone;            // on `device`, eval mode
  Normalization normalization;  // what the images were normalized with
  torch::Device device = torch::kCPU;
  int threads = 1;
  torch::Tensor train_features;  // (N_train, D) float
  torch::Tensor train_labels;    // (N_train) int64
  torch::Tensor test_features;   // (N_test, D) float
  torch::Tensor test_labels;     // (N_test) int64
  int64_t num_classes = 0;
  std::vector<std::string> class_names;
  double features_seconds = 0;     // time spent computing the features
  nlohmann::json checkpoint_meta;  // the checkpoint's meta, {} when it has none
  int64_t image_side = 0;          // side the images were resized to (0 = native)
  StateDict classifier;            // linear.pt's classifier, empty otherwise
};

// Loads the checkpoint, rebuilds its backbone (strict key and shape check),
// loads both splits of the evaluation dataset (resized to the side the
// backbone was trained on, for cross-domain evaluation) and computes their
// features once. Normalization: the checkpoint's when evaluating on its own
// dataset, else the evaluation dataset's. `what` names the command in the
// log line. Throws std::runtime_error / std::invalid_argument naming the
// checkpoint, dataset or flag at fault. For a linear.pt the defaults are the
// dataset, root and normalization its classifier was trained on. With
// `with_train` false only the test split is read (train tensors stay empty,
// (0, D) and (0)).
EvalData load_eval_data(const EvalSource& source, const std::string& what, bool with_train = true);

// The first half of load_eval_data: checkpoint, backbone (on the device, eval
// mode), dataset, root, normalization and side resolved; no images read, no
// features (train_features etc. stay undefined).
EvalData load_eval_model(const EvalSource& source);

// The fields every evaluation report shares: checkpoint, backbone,
// random_init, dataset, data_root, image counts, feature_size, classes.
nlohmann::json eval_report_header(const EvalSource& source, const EvalData& data);

// `explicit_out` when given, else `file_name` next to the checkpoint, with
// "_random_init" before the extension when `random_init`.
std::string eval_output_path(const std::string& explicit_out, const std::string& checkpoint,
                             const std::string& file_name, bool random_init);

// Writes `path` atomically: {"backbone": the backbone's weights now,
// "classifier": {"weight", "bias"}, "meta": the checkpoint's meta with the
// backbone's name and feature size, plus a "linear_eval" entry (dataset,
// root, normalization, classes, class names, then every field of `summary`,
// e.g. accuracies)}. What `relnet test` reads. Throws like save_checkpoint.
void save_classifier_checkpoint(const std::string& path, const EvalData& data,
                                torch::nn::Module& backbone, torch::nn::Linear& classifier,
                                const std::vector<std::string>& class_names,
                                const nlohmann::json& summary);

}  // namespace relnet
