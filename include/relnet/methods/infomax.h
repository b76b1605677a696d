// Deep InfoMax (Hjelm et al., 2019) as the reference runs it: the local
// mutual-information term (a discriminator of 1x1 convolutions tells the
// first block's map M joined with the image's own global feature y from M of
// the next image in the batch joined with y) and the prior term (a
// discriminator tells y from uniform noise); the global term is off, as in
// the reference. One Adam at 1e-4 over everything, flip-only augmentation.
// Its module is the reference's DeepInfoMaxLoss, saved as "loss_fn"
// (local_d.c0/c1/c2 1x1 convolutions, prior_d.l0/l1/l2).
#pragma once

#include "relnet/methods/method.h"

namespace relnet {

// The local discriminator T(M, y): 1x1 convolutions (C_M + D) -> 256 -> 256
// -> 1 with ReLUs over cat(M, y broadcast over the map).
class LocalDiscriminatorImpl : public torch::nn::Module {
 public:
  LocalDiscriminatorImpl(int64_t feature_size, int64_t map_channels);
  // M (B, C, H, W), y (B, D) -> the scores of the positive pairs T(M, y) and
  // of the negative pairs T(M', y), M' = M rolled by one along the batch
  // (M'[b] = M[b + 1 mod B]), each (B, H*W). The first convolution is split
  // into its M part, applied once per position, and its y part, applied once
  // per image: the same values as the convolutions over the joined maps.
  std::pair<torch::Tensor, torch::Tensor> forward(const torch::Tensor& M, const torch::Tensor& y);

 private:
  int64_t map_channels_;
  torch::nn::Conv2d c0_{nullptr}, c1_{nullptr}, c2_{nullptr};
};
TORCH_MODULE(LocalDiscriminator);

// The prior discriminator: Linear(D, 512) -> ReLU -> Linear(512, 128) ->
// ReLU -> Linear(128, 1); forward returns the logit (N) (the reference
// applies a sigmoid; the loss uses log-sigmoid of the logit, the same value
// without overflow).
class PriorDiscriminatorImpl : public torch::nn::Module {
 public:
  explicit PriorDiscriminatorImpl(int64_t feature_size);
  torch::Tensor forward(const torch::Tensor& y);

 private:
  torch::nn::Linear l0_{nullptr}, l1_{nullptr}, l2_{nullptr};
};
TORCH_MODULE(PriorDiscriminator);

// Both discriminators, under the reference's names.
class InfoMaxLossImpl : public torch::nn::Module {
 public:
  InfoMaxLossImpl(int64_t feature_size, int64_t map_channels);
  LocalDiscriminator local_d{nullptr};
  PriorDiscriminator prior_d{nullptr};
};
TORCH_MODULE(InfoMaxLoss);

// The three terms of the loss.
struct InfoMaxTerms {
  torch::Tensor total;  // beta * local + gamma * prior
  torch::Tensor local;  // mean softplus(T(M', y)) + mean softplus(-T(M, y))
  torch::Tensor prior;  // -(mean log D(u) + mean log(1 - D(y)))
};

// The loss of features y (B, D) and maps M (B, C, H, W) with prior samples
// u (B, D) ~ U[0, 1). Throws std::invalid_argument when B < 2 (the negatives
// need another image) or the shapes disagree.
InfoMaxTerms infomax_loss(InfoMaxLoss& modules, const torch::Tensor& y, const torch::Tensor& M,
                          const torch::Tensor& u, double beta, double gamma);

class InfoMaxMethod : public Method {
 public:
  explicit InfoMaxMethod(const MethodContext& context);
  std::string name() const override { return "infomax"; }
  int64_t views_per_image() const override { return 1; }
  ViewRecipe view_recipe() const override { return {ViewKind::kFlip, 0}; }
  std::vector<std::pair<std::string, std::shared_ptr<torch::nn::Module>>> modules() const override;
  std::vector<MetricInfo> metrics() const override;  // loss_local, loss_prior
  double default_lr() const override { return 1e-4; }
  // {y (B, D), M (B, C, H, W)} from Backbone::forward_with_first_map.
  std::vector<torch::Tensor> encode(const MethodBatch& batch) override;
  // u is drawn from a generator seeded by (train.seed, epoch, step), so a
  // resumed run draws what an uninterrupted one would.
  MethodOutput loss(const std::vector<torch::Tensor>& encodings, const MethodBatch& batch,
                    StepTimes* times, StepClock& clock) override;

 private:
  InfoMaxLoss loss_fn_{nullptr};
};

}  // namespace relnet
