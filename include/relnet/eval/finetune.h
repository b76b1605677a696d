// Fine-tuning (the paper's variant of linear evaluation): the backbone and a
// new Linear(D -> classes) are trained together with Adam (backbone lr 1e-3,
// classifier lr 1e-4, weight decay 1e-5) on the train split with random
// horizontal flips and small random translations, then tested.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

#include "relnet/eval/features.h"
#include "relnet/util/rng.h"

namespace relnet {

struct FinetuneOptions : EvalSource {
  int64_t epochs = 100;
  int64_t batch_size = 128;
  double backbone_lr = 1e-3;
  double classifier_lr = 1e-4;
  double weight_decay = 1e-5;
  /// Largest random translation, as a fraction of the image side (0 = none).
  double max_shift = 0.1;
  /// Results JSON; empty = finetune.json (finetune_random_init.json) next to
  /// the checkpoint.
  std::string out;
  /// Fine-tuned backbone + classifier, loadable by `relnet test`; empty =
  /// finetune.pt (finetune_random_init.pt) next to the checkpoint.
  std::string classifier_out;
};

struct FinetuneResult {
  nlohmann::json report;
  double train_accuracy = 0;  // on the un-augmented train split, after training
  double test_accuracy = 0;
  std::string out_path;
  std::string classifier_path;
};

// A copy of normalized images (B, 3, H, W) where each image is shifted by up
// to round(max_shift * side) pixels in each direction (edge pixels repeated)
// and flipped left-right with probability 0.5, all drawn from `rng`.
torch::Tensor flip_and_shift(const torch::Tensor& images, double max_shift, Rng& rng);

// Trains and tests; writes the results JSON and the .pt file atomically.
// Throws like load_eval_data, and std::invalid_argument for bad settings.
FinetuneResult finetune(const FinetuneOptions& options);

}  // namespace relnet
