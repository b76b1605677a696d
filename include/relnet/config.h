// All settings of a relnet run as plain structs with defaults, read from and
// written to JSON in one place. Unknown keys and bad values are rejected with
// a message naming the key, the expected value and the value found.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "relnet/augment/augment_config.h"
#include "relnet/data/dataset.h"

namespace relnet {

// Where the images come from.
struct DataConfig {
  /// Dataset name: cifar10 | cifar100 | supercifar100 | stl10 | image_folder |
  /// fashion_mnist | mnist | packed.
  std::string dataset = "cifar10";
  /// Split to self-supervise on: auto (the dataset's unlabeled split if it has
  /// one, else train) | train | test | unlabeled.
  std::string split = "auto";
  /// Side every image is resized to at load (0 = the dataset's native side;
  /// image folders need a side and default to 64).
  int64_t image_size = 0;
  /// Folder holding the dataset's files (for cifar10: the folder that
  /// contains cifar-10-batches-bin/ or the batch files themselves).
  std::string root = "data";
  /// Use only the first N training images (0 = all). For smoke runs.
  int64_t subset = 0;
  /// Per-channel normalization; empty = the dataset's default.
  std::vector<double> mean;
  std::vector<double> std;
  /// Threads that build augmented views ahead of the model (0 = automatic:
  /// none on a CPU, cores - 1 beside a GPU; augment/batcher.h).
  int64_t workers = 0;
  /// How many batches may be prepared ahead of the model step.
  int64_t prefetch = 2;
};

// The networks.
struct ModelConfig {
  /// Backbone: conv4 | resnet8 | resnet32 | resnet56 | resnet18 | resnet34.
  std::string backbone = "conv4";
  /// Pair aggregation: cat | sum | mean | max.
  std::string aggregation = "cat";
  /// Hidden width of the relation head.
  int64_t head_hidden = 256;
  /// Relation loss: bce | focal.
  std::string loss = "bce";
  /// Focal loss focusing exponent and positive-class weight (the paper: 2, 0.5).
  double focal_gamma = 2.0;
  double focal_alpha = 0.5;
  /// Build the (K(K-1)B, 2D) pairs matrix and feed it to the head, as the
  /// paper's code does, instead of projecting every view once. Same loss and
  /// gradients within float rounding, slower: for checking, not for use.
  bool pairs_matrix = false;
  /// relnet's fused CPU kernels instead of LibTorch's modules while training
  /// in float32 on a CPU: Conv4's first and second blocks whole (convolution
  /// included), its later blocks' BatchNorm -> ReLU -> pooling, and the
  /// relation head's BatchNorm -> LeakyReLU -> Linear over all pairs (with
  /// cat's view projections split by rows over the threads, in evaluation
  /// too). Other backbones always run LibTorch's modules.
  bool fused = true;
};

// The training method (methods/method.h) and its own settings.
struct MethodConfig {
  /// relational | simclr | deepcluster | infomax | rotation | supervised.
  std::string name = "relational";
  /// SimCLR: temperature of the cosine similarities.
  double temperature = 0.5;
  /// SimCLR: "reference" (-log of the mean ratio, the reference's) or
  /// "ntxent" (the mean of -log ratio, the usual NT-Xent).
  std::string simclr_loss = "reference";
  /// SimCLR: width of the projection head's output.
  int64_t projection_dim = 64;
  /// DeepCluster: clusters k (0 = the dataset's classes x 10).
  int64_t clusters = 0;
  /// DeepCluster: k-means iterations and restarts per epoch.
  int64_t kmeans_iterations = 30;
  int64_t kmeans_restarts = 5;
  /// DeepCluster, RotationNet, supervised: RandomCrop padding in pixels
  /// (-1 = by side: 4 at 32 px, 8 at 64, 12 at 96).
  int64_t crop_padding = -1;
  /// Deep InfoMax: weights of the local and prior terms.
  double infomax_beta = 1.0;
  double infomax_gamma = 0.1;
};

// The optimisation loop and its outputs.
struct TrainConfig {
  int64_t epochs = 200;
  /// Images per step (each gives K views).
  int64_t batch_size = 64;
  /// Learning rate of the method's optimizer (0 = the method's default:
  /// 1e-3; Deep InfoMax 1e-4; supervised 0.1).
  double lr = 0;
  /// Seed of weight init, sampling and augmentation.
  int64_t seed = 1;
  /// Intra-op threads for LibTorch (0 = all cores).
  int64_t threads = 0;
  /// auto | cpu | cuda | cuda:N.
  std::string device = "auto";
  /// Run directory (empty = runs/<config name>).
  std::string out_dir;
  /// Log a progress line and a metrics record every N steps.
  int64_t log_interval = 50;
  /// Save checkpoint.pt and backbone.pt every N epochs (and always at the end).
  int64_t checkpoint_interval = 1;
  /// Every N epochs also keep a full checkpoint as epoch_<E>.pt (0 = none).
  int64_t epoch_checkpoints = 0;
  /// Keep only the newest N epoch_<E>.pt files (0 = keep all).
  int64_t keep_last = 0;
  /// Data-parallel runs: seconds a collective (or joining the group) may
  /// take before every surviving rank gives up with an error.
  int64_t dist_timeout_s = 300;
  /// fp32 | bf16 (autocast of the forward passes to bfloat16).
  std::string precision = "fp32";
  /// CUDA: deterministic cuDNN algorithms instead of benchmark mode.
  bool deterministic = false;
  /// Every N epochs (and after the last) measure the backbone: kNN accuracy
  /// on the dataset's labelled splits and the collapse monitor (0 = never).
  int64_t monitor_every = 1;
  /// The monitors' images: the first N of the train split as kNN neighbours,
  /// the first M of the test split as queries.
  int64_t monitor_neighbours = 10000;
  int64_t monitor_queries = 2000;
  /// Neighbours that vote in the kNN monitor.
  int64_t monitor_k = 200;
};

struct Config {
  /// Run name; defaults to the config file's stem.
  std::string name = "relnet";
  DataConfig data;
  AugmentConfig augment;
  ModelConfig model;
  MethodConfig method;
  TrainConfig train;
};

// Builds a config from JSON, starting from the defaults above. Every key
// must be known and of the right type and range; throws std::invalid_argument
// naming the key otherwise ("unknown key 'lr_' in train").
Config config_from_json(const nlohmann::json& j);

// Reads and parses a JSON config file; `name` defaults to the file's stem.
// Throws std::runtime_error naming the file when it is missing or not JSON.
Config load_config(const std::string& path);

// The effective config, every key present.
nlohmann::json config_to_json(const Config& config);

// Applies one "section.key=value" override (value parsed as JSON, or as a
// string when it is not valid JSON) and re-validates. Throws like
// config_from_json.
void apply_override(Config& config, const std::string& assignment);

// Applies every override in order, then validates once, so constraints
// between keys see the final values (`--set data.subset=16 --set
// train.batch_size=8` is valid). Throws like apply_override; `config` is
// unchanged when it throws.
void apply_overrides(Config& config, const std::vector<std::string>& assignments);

// One key of the config as `relnet config schema` and docs/CONFIG.md show it.
struct ConfigKey {
  std::string key;               // "train.epochs"
  std::string type;              // "int >= 1", "number in [0, 1]", "one of bce | focal"
  std::string meaning;           // Markdown (backticks for names)
  nlohmann::json default_value;  // as config_to_json(Config{}) writes it
  std::string default_text;      // shown instead of default_value when not empty
};

// Every key the config accepts, in config_to_json's order. The same table
// parses configs, so the schema cannot fall behind the parser.
std::vector<ConfigKey> config_schema();

// The schema as plain text for a terminal, one key per entry.
std::string format_config_schema();

// docs/CONFIG.md: the config reference with the schema as a Markdown table.
std::string config_reference_markdown();

// The normalization a config asks for: data.mean and data.std where given,
// else the dataset's (dataset_normalization: a pack's from its pack.json).
Normalization effective_normalization(const DataConfig& data);

// The names method.name accepts, in the order the docs list them; each is
// built by make_method (methods/method.h).
const std::vector<std::string>& known_methods();

// The run directory: train.out_dir, or runs/<name> when empty.
std::string run_dir(const Config& config);

}  // namespace relnet
