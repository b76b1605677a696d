// `relnet data info`: what a dataset folder holds, measured on the data.
#pragma once

#include <torch/torch.h>

#include <array>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>

namespace relnet {

// Loads every split of `dataset` under `root` and reports, as JSON:
// dataset, root, description, intact (every split read without error),
// splits: {name: {images, side, classes, per_class counts | error}},
// class_names, and the per-channel mean and std of the pixels in [0, 1]
// measured on the first readable split (the train split when it exists),
// next to the normalization relnet uses by default. Never throws for a
// broken split: its error message is recorded instead. Throws
// std::invalid_argument for an unknown dataset.
nlohmann::json dataset_info(const std::string& dataset, const std::string& root,
                            int64_t image_size = 0);

// Per-channel mean and std of (N, 3, H, W) uint8 images scaled to [0, 1],
// accumulated in double precision chunk by chunk (no float copy of the set).
std::pair<std::array<double, 3>, std::array<double, 3>> channel_stats(const torch::Tensor& images);

// Human-readable lines of a dataset_info report.
std::string format_dataset_info(const nlohmann::json& info);

// What `relnet info` reports of a data root: {root, exists, found: [{dataset,
// splits}]}, every dataset of fixed format (not image folders, which any
// folder could be) with the splits whose files load there; a pack at `root`
// is reported as {dataset: "packed", source, splits}.
nlohmann::json datasets_found(const std::string& root);

// Human-readable lines of a pack_report (data/packed.h).
std::string format_pack_report(const nlohmann::json& report);

}  // namespace relnet
