// DeepCluster's clustering step on CPU features, with faiss: PCA whitening and
// L2 normalisation of the features, k-means of the result, and the cluster
// weights of the cross-entropy on the pseudo-labels.
#pragma once

#include <torch/torch.h>

#include <cstdint>

namespace relnet {

// (N, D) float32 CPU features -> (N, out_dim) float32, PCA-whitened (not L2-scaled): the PCA is
// fitted on these rows (faiss::PCAMatrix, eigen_power -0.5, on all N rows, no subsampling), so
// every output column has mean 0 and the columns are orthonormal: out^T out = I (faiss whitens
// with the eigenvalues of the unnormalised scatter matrix, so each column's variance is 1/N).
// Components whose variance is numerically zero (eigenvalue <= 1e-5 x the largest, e.g. dead
// feature units, or out_dim above the rank of the centred rows) are set to 0 instead of being
// divided by ~0. Requires N >= 2 and 1 <= out_dim <= min(D, N), finite values; throws
// std::invalid_argument naming the sizes otherwise.
torch::Tensor pca_whiten(const torch::Tensor& features, int64_t out_dim);

// pca_whiten, then every row scaled to unit L2 norm (rows of norm 0 stay 0): DeepCluster's
// preprocessing before k-means. Same contract and errors as pca_whiten.
torch::Tensor pca_whiten_l2(const torch::Tensor& features, int64_t out_dim);

// The PCA dimension DeepCluster uses for feature width D: D, or D / 2 when D >= 512.
// Throws std::invalid_argument for D < 1.
int64_t deepcluster_pca_dim(int64_t feature_size);

struct KMeansOptions {
  int64_t k = 100;          // clusters, 1 <= k <= N
  int64_t iterations = 30;  // Lloyd iterations per restart, >= 1
  int64_t restarts = 5;     // runs from different seeds, >= 1; the lowest objective wins
  uint64_t seed = 1;
};

struct KMeansResult {
  torch::Tensor assignments;  // (N) int64 in [0, k): the nearest centroid of each row
  torch::Tensor centroids;    // (k, d) float32
  double objective = 0;       // sum over rows of the squared distance to the assigned centroid
};

// k-means of the rows of x ((N, d) float32 CPU, finite, N < 2^31) with faiss::Clustering on an
// exact L2 index (IndexFlatL2). Each restart r runs `iterations` Lloyd steps from k distinct
// rows drawn at random with a seed derived from (seed, r) (faiss initialises by random
// sampling, not k-means++); a cluster that empties is re-seeded by splitting a large one.
// The result is the restart with the lowest objective, computed (summed in double) from the
// returned centroids and assignments, the assignments being a final nearest-centroid pass.
// All N rows are used (faiss's subsampling to max_points_per_centroid x k rows is disabled),
// faiss prints nothing (verbose off, its "too few points per centroid" warning disabled).
// Deterministic: the same data, options and thread count give the same result. faiss runs its
// OpenMP loops on the calling thread's OpenMP thread count (LibTorch's intra-op count unless
// the thread set its own) and its distances through BLAS.
// Throws std::invalid_argument, naming the values, for a bad shape or dtype, non-finite values,
// k outside [1, N], iterations < 1 or restarts < 1; an error inside faiss (here and in
// pca_whiten) comes out as std::runtime_error.
KMeansResult kmeans(const torch::Tensor& x, const KMeansOptions& options);

// Whether this build has faiss (pca_whiten and kmeans throw
// std::runtime_error saying so when it has not: a build from
// scripts/pack-gpu-deps.sh's folder on a machine without libfaiss-dev).
bool clustering_available();

// Cross-entropy class weights of DeepCluster: w_c = 1 - n_c / N for the counts n_c of each of
// the k clusters in assignments ((N) int64 in [0, k), N >= 1). Returns (k) float32. Throws
// std::invalid_argument, naming the values, for another shape or dtype, k < 1 or a label
// outside [0, k).
torch::Tensor cluster_weights(const torch::Tensor& assignments, int64_t k);

}  // namespace relnet
