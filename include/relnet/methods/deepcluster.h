// DeepCluster (Caron et al., 2018) as the reference runs it, without its
// bugs: at the start of every epoch the features of the whole training set
// (eval mode, no augmentation) are PCA-whitened, L2-normalised and clustered
// by k-means (faiss, seeded); the head's last layer is re-drawn and the
// epoch trains the backbone and head to predict each image's cluster with
// cross-entropy weighted by 1 - n_c / N. Its modules: the head, saved as
// "deepcluster_head" (linear1.*, bn1.*, linear2.*), and the epoch's
// assignments, saved as "deepcluster_state" (assignments (N) int64), so a
// run resumed inside an epoch trains on the same clusters.
#pragma once

#include "relnet/methods/method.h"
#include "relnet/methods/simclr.h"

namespace relnet {

// Holds the current epoch's cluster of every training image.
class ClusterStateImpl : public torch::nn::Module {
 public:
  explicit ClusterStateImpl(int64_t images);
  torch::Tensor assignments;  // (N) int64, buffer "assignments"
};
TORCH_MODULE(ClusterState);

class DeepClusterMethod : public Method {
 public:
  // k = method.clusters, or the dataset's classes x 10. Throws
  // std::invalid_argument naming method.clusters when k is 0 on unlabeled
  // data or larger than the training set.
  explicit DeepClusterMethod(const MethodContext& context);
  std::string name() const override { return "deepcluster"; }
  int64_t views_per_image() const override { return 1; }
  ViewRecipe view_recipe() const override;  // crop with padding, flip
  std::vector<std::pair<std::string, std::shared_ptr<torch::nn::Module>>> modules() const override;
  // accuracy against the pseudo-labels; clusters_used: share of the k
  // clusters holding at least one image this epoch.
  std::vector<MetricInfo> metrics() const override;
  // Clusters the training set and re-draws the head's last layer (weights
  // N(0, 0.01) from a generator seeded by (train.seed, epoch), bias 0; the
  // optimizer's state is kept, as in the reference). When the run resumes
  // inside an epoch, only the class weights are rebuilt from the saved
  // assignments.
  void start_epoch(int64_t epoch, int64_t epochs, bool resumed_mid_epoch,
                   torch::optim::Optimizer& optimizer) override;
  MethodOutput loss(const std::vector<torch::Tensor>& encodings, const MethodBatch& batch,
                    StepTimes* times, StepClock& clock) override;

  int64_t clusters() const { return k_; }

 private:
  void cluster(int64_t epoch);
  void redraw_last_layer(int64_t epoch);

  int64_t k_;
  MlpHead head_{nullptr};
  ClusterState state_{nullptr};
  torch::Tensor weights_;  // (k) float32 on the device: 1 - n_c / N
  torch::Tensor used_;     // (1) float64: share of clusters in use
};

}  // namespace relnet
