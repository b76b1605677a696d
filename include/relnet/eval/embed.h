// `relnet embed`: a picture of what a backbone learned. The frozen features
// of the test split are projected to two dimensions with PCA (the two
// directions of largest variance) and drawn as a scatter plot coloured by
// class, with a legend; the 2-D points can be written as JSON.
//
// PCA and not t-SNE or UMAP: no Debian package ships a C++ library of
// either (Debian has them only inside R packages and Python's umap-learn),
// and PCA is exact, deterministic and linear, so distances in the picture
// mean the same everywhere; it shows whether classes separate along the
// features' main directions. The JSON points can be fed to t-SNE or UMAP
// in Python.
#pragma once

#include <torch/torch.h>

#include <nlohmann/json.hpp>
#include <string>
#include <utility>

#include "relnet/eval/features.h"

namespace relnet {

// The first two principal components of `features` (N, D), N >= 2:
// {points (N, 2) float64, the share of the total variance each explains
// (2) float64}. Each component's sign is fixed so that its largest entry is
// positive (the same features give the same picture). Throws
// std::invalid_argument for fewer than 2 rows or 2 columns.
std::pair<torch::Tensor, torch::Tensor> pca_2d(const torch::Tensor& features);

struct EmbedOptions : EvalSource {
  /// The picture; empty = embed.png (embed_random_init.png) next to the checkpoint.
  std::string out;
  /// Also write the 2-D points here (empty = no JSON).
  std::string json_out;
};

struct EmbedResult {
  nlohmann::json report;  // what the JSON holds, without the points
  std::string png_path;
  std::string json_path;  // empty when not asked for
};

// Features of the test split (test_subset images), pca_2d, the PNG and,
// when asked, the JSON ({method, explained_variance_ratio, class_names,
// x, y, labels}), written atomically. Throws like load_eval_data, and
// std::runtime_error when built without image I/O.
EmbedResult embed(const EmbedOptions& options);

}  // namespace relnet
