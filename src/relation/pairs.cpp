// Pair construction with the reference's roll schedule.
#include "relnet/relation/pairs.h"

#include <stdexcept>
#include <vector>

namespace relnet {

Aggregation parse_aggregation(const std::string& name) {
  if (name == "cat") return Aggregation::kCat;
  if (name == "sum") return Aggregation::kSum;
  if (name == "mean") return Aggregation::kMean;
  if (name == "max") return Aggregation::kMax;
  throw std::invalid_argument("unknown aggregation '" + name + "' (known: cat, sum, mean, max)");
}

std::string to_string(Aggregation aggregation) {
  switch (aggregation) {
    case Aggregation::kCat:
      return "cat";
    case Aggregation::kSum:
      return "sum";
    case Aggregation::kMean:
      return "mean";
    case Aggregation::kMax:
      return "max";
  }
  return "?";
}

int64_t aggregated_size(Aggregation aggregation, int64_t feature_size) {
  return aggregation == Aggregation::kCat ? 2 * feature_size : feature_size;
}

PairIndex make_pair_index(int64_t K, int64_t B) {
  if (K < 2 || B < 2) {
    throw std::invalid_argument("relation pairs need K >= 2 views and B >= 2 images, got K=" +
                                std::to_string(K) + ", B=" + std::to_string(B));
  }
  const int64_t P = K * (K - 1) * B;
  std::vector<int64_t> left, right;
  std::vector<float> targets;
  left.reserve(P);
  right.reserve(P);
  targets.reserve(P);
  int64_t shift = 1;
  for (int64_t i = 0; i < K; ++i) {
    for (int64_t j = i + 1; j < K; ++j) {
      for (int64_t r = 0; r < B; ++r) {  // positive: same image, views i and j
        left.push_back(i * B + r);
        right.push_back(j * B + r);
        targets.push_back(1.f);
      }
      // negative: torch.roll(F_j, shift, 0)[r] = F_j[(r - shift) mod B]
      for (int64_t r = 0; r < B; ++r) {
        left.push_back(i * B + r);
        right.push_back(j * B + ((r - shift) % B + B) % B);
        targets.push_back(0.f);
      }
      shift = shift + 1 >= B ? 1 : shift + 1;
    }
  }
  auto as_tensor = [](auto& v, torch::Dtype dtype) {
    return torch::from_blob(v.data(), {static_cast<int64_t>(v.size())}, dtype).clone();
  };
  return {as_tensor(left, torch::kInt64), as_tensor(right, torch::kInt64),
          as_tensor(targets, torch::kFloat32)};
}

torch::Tensor aggregate(const torch::Tensor& left, const torch::Tensor& right,
                        Aggregation aggregation) {
  switch (aggregation) {
    case Aggregation::kCat:
      return torch::cat({left, right}, 1);
    case Aggregation::kSum:
      return left + right;
    case Aggregation::kMean:
      return (left + right) / 2;
    case Aggregation::kMax:
      return torch::maximum(left, right);
  }
  throw std::invalid_argument("bad aggregation");
}

const PairIndex& pair_index_for(const torch::Tensor& features, int64_t K) {
  if (features.dim() != 2 || K < 1 || features.size(0) % K != 0) {
    throw std::invalid_argument("features must be (K*B, D) with K=" + std::to_string(K) +
                                ", got shape " + c10::str(features.sizes()));
  }
  const int64_t B = features.size(0) / K;
  // The index depends only on (K, B): cache the last one (one per thread).
  thread_local int64_t cached_k = -1, cached_b = -1;
  thread_local torch::Device cached_device = torch::kCPU;
  thread_local PairIndex cached;
  if (cached_k != K || cached_b != B || cached_device != features.device()) {
    PairIndex index = make_pair_index(K, B);
    const auto device = features.device();
    cached = {index.left.to(device), index.right.to(device), index.targets.to(device)};
    cached_k = K;
    cached_b = B;
    cached_device = device;
  }
  return cached;
}

RelationPairs make_pairs(const torch::Tensor& features, int64_t K, Aggregation aggregation) {
  const PairIndex& index = pair_index_for(features, K);
  const auto left = features.index_select(0, index.left);
  const auto right = features.index_select(0, index.right);
  return {aggregate(left, right, aggregation), index.targets};
}

}  // namespace relnet
