// relnet's representation monitors (train.monitor_every): what the backbone
// has learned, measured between epochs while it trains, as solo-learn's
// online kNN and collapse checks do. Labels are read only here, never by the
// training itself.
//   kNN monitor: top-1 and top-5 accuracy of weighted kNN (eval/knn.h, the
//     same computation as `relnet knn`) with the first monitor_neighbours
//     train images as neighbours and the first monitor_queries test images
//     as queries (all of a split that holds fewer), on datasets with
//     labelled train and test splits.
//   collapse monitor: feature_spread of the queries' features (of the first
//     monitor_queries training images on unlabelled data) against the
//     1/sqrt(D) of features spread evenly over the unit sphere.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <memory>
#include <string>

#include "relnet/config.h"
#include "relnet/data/dataset.h"
#include "relnet/train/trainer.h"

namespace relnet {

// The collapse monitor: each row of `features` (N, D) is L2-normalised, then
// the standard deviation of every dimension over the N rows is averaged over
// the D dimensions. 0 when every row is the same (a collapsed
// representation); about 1/sqrt(D) for rows spread evenly over the unit
// sphere (e.g. Gaussian). Throws std::invalid_argument unless N >= 2.
double feature_spread(const torch::Tensor& features);

class RepresentationMonitor : public EpochMonitor {
 public:
  // Loads the monitors' images from the config's dataset (resized like the
  // training images), falling back to the collapse monitor alone, with one
  // warning saying why, when the dataset has no labelled train and test
  // splits. Throws like load_dataset when the training split is unreadable.
  explicit RepresentationMonitor(const Config& config);

  // {"knn_top1", "knn_top5" (with more than 5 classes), "feature_spread",
  // "feature_spread_healthy": 1/sqrt(D)}; the backbone in eval mode.
  MonitorReading measure(BackboneImpl& backbone) override;

  bool has_knn() const { return neighbours_.size() > 0; }

 private:
  Config config_;
  Normalization normalization_;
  torch::Device device_ = torch::kCPU;
  ImageDataset neighbours_;  // empty without labels
  ImageDataset queries_;
};

// A RepresentationMonitor when config.train.monitor_every > 0, else null.
std::unique_ptr<EpochMonitor> make_representation_monitor(const Config& config);

}  // namespace relnet
