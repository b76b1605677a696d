// Relation pairs of the self-supervised phase (REFERENCE.md): from K views of
// B images, every view pair (i < j) gives a positive block agg(F_i, F_j) and a
// negative block agg(F_i, roll(F_j, s)), s cycling through 1..B-1.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <string>

namespace relnet {

enum class Aggregation { kCat, kSum, kMean, kMax };

// "cat" | "sum" | "mean" | "max"; throws std::invalid_argument otherwise.
Aggregation parse_aggregation(const std::string& name);
std::string to_string(Aggregation aggregation);

// Width of an aggregated pair for features of width D: 2D for cat, else D.
int64_t aggregated_size(Aggregation aggregation, int64_t feature_size);

// Row indices into the view-major feature matrix (K*B, D) for every pair, in
// the reference's order pos(0,1), neg(0,1), pos(0,2), ... Each of left, right
// (P) int64 and targets (P) float (1 positive, 0 negative), P = K(K-1)B.
// Requires K >= 2 and B >= 2.
struct PairIndex {
  torch::Tensor left;
  torch::Tensor right;
  torch::Tensor targets;
};
PairIndex make_pair_index(int64_t K, int64_t B);

// The pair index for view-major features (K*B, D), on their device; cached
// per thread for the last (K, B, device). Throws std::invalid_argument when
// the rows are not a multiple of K.
const PairIndex& pair_index_for(const torch::Tensor& features, int64_t K);

// agg(left, right) row by row: (P, D) x (P, D) -> (P, aggregated_size).
torch::Tensor aggregate(const torch::Tensor& left, const torch::Tensor& right,
                        Aggregation aggregation);

// The pairs of view-major features (K*B, D): inputs (P, aggregated_size) and
// targets (P) on the features' device.
struct RelationPairs {
  torch::Tensor inputs;
  torch::Tensor targets;
};
RelationPairs make_pairs(const torch::Tensor& features, int64_t K, Aggregation aggregation);

}  // namespace relnet
