// Relation head (the reference's relation_module).
#include "relnet/relation/head.h"

namespace relnet {

RelationHeadImpl::RelationHeadImpl(int64_t input_size, int64_t hidden) {
  // Names "0".."3" reproduce nn.Sequential's state-dict keys.
  fc1_ = register_module("0", torch::nn::Linear(input_size, hidden));
  bn_ = register_module("1", torch::nn::BatchNorm1d(hidden));
  act_ = register_module("2", torch::nn::LeakyReLU(torch::nn::LeakyReLUOptions().negative_slope(0.01)));
  fc2_ = register_module("3", torch::nn::Linear(hidden, 1));
}

torch::Tensor RelationHeadImpl::forward(const torch::Tensor& x) {
  return fc2_->forward(act_->forward(bn_->forward(fc1_->forward(x)))).squeeze(1);
}

}  // namespace relnet
