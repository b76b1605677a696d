// DeepCluster: k-means pseudo-labels every epoch, a classifier on them.
#include "relnet/methods/deepcluster.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <stdexcept>

#include "relnet/methods/clustering.h"
#include "relnet/util/rng.h"

namespace relnet {

ClusterStateImpl::ClusterStateImpl(int64_t images) {
  assignments = register_buffer("assignments", torch::zeros({images}, torch::kInt64));
}

namespace {

int64_t cluster_count(const Config& config, const ImageDataset& data) {
  const int64_t k = config.method.clusters > 0 ? config.method.clusters : data.num_classes * 10;
  if (!clustering_available()) {
    throw std::invalid_argument(
        "method.name \"deepcluster\" needs faiss, and this relnet was built "
        "without it (install libfaiss-dev and rebuild)");
  }
  if (k <= 0) {
    throw std::invalid_argument("method.clusters: the " + data.name +
                                " training split has no classes to derive k from: set "
                                "method.clusters (the reference uses classes x 10)");
  }
  if (k > data.size()) {
    throw std::invalid_argument("method.clusters (" + std::to_string(k) +
                                ") must not exceed the training images (" +
                                std::to_string(data.size()) + ")");
  }
  return k;
}

}  // namespace

DeepClusterMethod::DeepClusterMethod(const MethodContext& context)
    : Method(context), k_(cluster_count(*context.config, *context.data)) {
  head_ = MlpHead(context.backbone->feature_size(), context.config->model.head_hidden, k_);
  head_->to(context.device);
  state_ = ClusterState(context.data->size());
  state_->to(context.device);
}

ViewRecipe DeepClusterMethod::view_recipe() const {
  return {ViewKind::kCropFlip, crop_padding(config(), context().data->side())};
}

std::vector<std::pair<std::string, std::shared_ptr<torch::nn::Module>>> DeepClusterMethod::modules()
    const {
  return {{"deepcluster_head", head_.ptr()}, {"deepcluster_state", state_.ptr()}};
}

std::vector<MetricInfo> DeepClusterMethod::metrics() const {
  return {{"accuracy", "acc"}, {"clusters_used", "used"}};
}

void DeepClusterMethod::start_epoch(int64_t epoch, int64_t epochs, bool resumed_mid_epoch,
                                    torch::optim::Optimizer& optimizer) {
  if (!resumed_mid_epoch) {
    redraw_last_layer(epoch);
    cluster(epoch);
  }
  const torch::Tensor assignments = state_->assignments.to(torch::kCPU);
  weights_ = cluster_weights(assignments, k_).to(context().device);
  const int64_t used = torch::bincount(assignments, {}, k_).gt(0).sum().item<int64_t>();
  used_ = torch::full({1}, static_cast<double>(used) / static_cast<double>(k_),
                      torch::TensorOptions().dtype(torch::kFloat64).device(context().device));
}

void DeepClusterMethod::redraw_last_layer(int64_t epoch) {
  const uint64_t seed = derive_seed(
      {static_cast<uint64_t>(config().train.seed), static_cast<uint64_t>(epoch), 0xdc11a7e5ULL});
  at::Generator gen = at::detail::createCPUGenerator(seed);
  torch::NoGradGuard no_grad;
  torch::nn::Linear& last = head_->last();
  last->weight.copy_(at::normal(0.0, 0.01, last->weight.sizes(), gen));
  last->bias.zero_();
}

void DeepClusterMethod::cluster(int64_t epoch) {
  const auto t0 = std::chrono::steady_clock::now();
  const MethodContext& c = context();
  const torch::Tensor features =  // (N, D): eval mode, no grad, no augmentation
      extract_features(*c.backbone, c.data->images, c.normalization, c.device);
  c.backbone->train();
  // PCA keeps at most as many components as there are images.
  const torch::Tensor x =
      pca_whiten_l2(features, std::min(deepcluster_pca_dim(features.size(1)), features.size(0)));
  KMeansOptions options;
  options.k = k_;
  options.iterations = config().method.kmeans_iterations;
  options.restarts = config().method.kmeans_restarts;
  options.seed = derive_seed(
      {static_cast<uint64_t>(config().train.seed), static_cast<uint64_t>(epoch), 0xc1a5ULL});
  const KMeansResult result = kmeans(x, options);
  {
    torch::NoGradGuard no_grad;
    state_->assignments.copy_(result.assignments);
  }
  const auto counts = torch::bincount(result.assignments, {}, k_);
  spdlog::info(
      "deepcluster: epoch {}: {} images in {} clusters ({} empty, largest {}), objective {:.4g}, "
      "{:.1f} s",
      epoch + 1, x.size(0), k_, counts.eq(0).sum().item<int64_t>(), counts.max().item<int64_t>(),
      result.objective,
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
}

MethodOutput DeepClusterMethod::loss(const std::vector<torch::Tensor>& encodings,
                                     const MethodBatch& batch, StepTimes* times, StepClock& clock) {
  const torch::Tensor& features = encodings.at(0);  // (B, D)
  const torch::Tensor& all = state_->assignments;
  const torch::Tensor targets = all.index_select(0, batch.indices.to(all.device()));
  torch::Tensor logits = head_->forward(features);  // (B, k)
  if (logits.scalar_type() != torch::kFloat32) logits = logits.to(torch::kFloat32);
  const torch::Tensor loss = torch::nn::functional::cross_entropy(
      logits, targets, torch::nn::functional::CrossEntropyFuncOptions().weight(weights_));
  return {loss, torch::cat({batch_accuracy(logits.detach(), targets), used_})};
}

}  // namespace relnet
