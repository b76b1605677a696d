// SimCLR (Chen et al., 2020) as the reference runs it: 2 views of each image
// with relational reasoning's augmentations, a projection head, and a
// contrastive loss over cosine similarities. Its module is the projection
// head, saved as "head" (keys linear1.*, bn1.*, linear2.*, the reference's).
#pragma once

#include "relnet/methods/method.h"

namespace relnet {

// Linear(D, hidden) -> BatchNorm1d(hidden) -> LeakyReLU(0.01) -> Linear(hidden, out).
// Also DeepCluster's head (out = k).
class MlpHeadImpl : public torch::nn::Module {
 public:
  MlpHeadImpl(int64_t input, int64_t hidden, int64_t output);
  // x: (N, input) -> (N, output).
  torch::Tensor forward(const torch::Tensor& x);
  torch::nn::Linear& last() { return linear2_; }

 private:
  torch::nn::Linear linear1_{nullptr};
  torch::nn::BatchNorm1d bn1_{nullptr};
  torch::nn::LeakyReLU relu_{nullptr};
  torch::nn::Linear linear2_{nullptr};
};
TORCH_MODULE(MlpHead);

// The contrastive loss of view-major embeddings z (2B, E): row i's partner
// is row (i + B) mod 2B. s = cosine similarities (norm products clamped at
// `eps`), E = exp(s / temperature), r_i = E[p(i), i] / (sum_k E[k, i] -
// exp(1 / temperature)) (the self term removed as its value at s = 1).
// Returns -log(mean_i r_i) (the reference's) or, with `ntxent`,
// mean_i(-log r_i). Throws std::invalid_argument unless z is (2B, E), B >= 1.
torch::Tensor simclr_loss(const torch::Tensor& z, double temperature, bool ntxent,
                          double eps = 1e-8);

// Share of rows whose most similar other row is their partner, (1) float64.
torch::Tensor simclr_accuracy(const torch::Tensor& z);

class SimCLRMethod : public Method {
 public:
  explicit SimCLRMethod(const MethodContext& context);
  std::string name() const override { return "simclr"; }
  int64_t views_per_image() const override { return 2; }
  ViewRecipe view_recipe() const override { return {}; }  // relational reasoning's augmentations
  std::vector<std::pair<std::string, std::shared_ptr<torch::nn::Module>>> modules() const override;
  std::vector<MetricInfo> metrics() const override;  // accuracy: the partner is the nearest view
  MethodOutput loss(const std::vector<torch::Tensor>& encodings, const MethodBatch& batch,
                    StepTimes* times, StepClock& clock) override;

 private:
  MlpHead head_{nullptr};
};

}  // namespace relnet
