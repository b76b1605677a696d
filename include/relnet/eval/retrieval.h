// Image retrieval on frozen features: every test image queries the train
// images (the gallery) ranked by cosine similarity; a gallery image is
// relevant when it has the query's label. Reports precision@k and the mean
// average precision over the full ranking.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "relnet/eval/features.h"
#include "relnet/util/plot.h"

namespace relnet {

struct RetrievalMetrics {
  std::vector<int64_t> ks;
  std::vector<double> precision_at_k;  // mean over queries of (relevant in top k) / k
  double mean_average_precision =
      0;              // mean over queries of AP (0 for a query with no relevant image)
  torch::Tensor top;  // (Q, max k) int64: gallery indices of the best matches
};

// gallery (G, D) + gallery_labels (G), queries (Q, D) + query_labels (Q).
// Ties in similarity are ranked by gallery index. Each k must be in [1, G].
// Processes `chunk` queries at a time on `device`. Throws
// std::invalid_argument for bad shapes or k.
RetrievalMetrics retrieval_metrics(const torch::Tensor& gallery,
                                   const torch::Tensor& gallery_labels,
                                   const torch::Tensor& queries, const torch::Tensor& query_labels,
                                   const std::vector<int64_t>& ks,
                                   torch::Device device = torch::kCPU, int64_t chunk = 128);

struct RetrievalOptions : EvalSource {
  std::vector<int64_t> ks{1, 5, 10, 20};
  /// Results JSON; empty = retrieval.json (retrieval_random_init.json) next
  /// to the checkpoint.
  std::string out;
  /// PNG of queries and their nearest gallery images; empty = none.
  std::string grid;
  /// Queries in the grid (spread evenly over the test split) and neighbours per query.
  int64_t grid_queries = 8;
  int64_t grid_k = 8;
};

struct RetrievalResult {
  nlohmann::json report;
  RetrievalMetrics metrics;
  std::string out_path;
};

// One row per query: the query image, then its top `k` gallery images
// (top: (Q, >= k) gallery indices), each framed green when its label is the
// query's and red otherwise. Rows are `rows` queries spread evenly over Q.
// Images are (N, 3, H, W) uint8.
#ifdef RELNET_WITH_IMAGE_IO
cv::Mat retrieval_grid(const torch::Tensor& query_images, const torch::Tensor& query_labels,
                       const torch::Tensor& gallery_images, const torch::Tensor& gallery_labels,
                       const torch::Tensor& top, int64_t rows, int64_t k,
                       const std::vector<std::string>& class_names);
#endif

// Features of both splits, then retrieval_metrics with the test split as
// queries and the train split as gallery; writes the report atomically, and
// the neighbour grid when options.grid is set.
RetrievalResult retrieval_eval(const RetrievalOptions& options);

}  // namespace relnet
