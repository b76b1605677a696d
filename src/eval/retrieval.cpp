// Retrieval metrics (precision@k, mAP) on frozen, L2-normalized features.
#include "relnet/eval/retrieval.h"

#include <algorithm>
#include <chrono>
#include <stdexcept>

#include "relnet/data/dataset.h"
#include "relnet/util/fs.h"
#include "relnet/util/plot.h"

namespace relnet {

using nlohmann::json;

RetrievalMetrics retrieval_metrics(const torch::Tensor& gallery,
                                   const torch::Tensor& gallery_labels,
                                   const torch::Tensor& queries, const torch::Tensor& query_labels,
                                   const std::vector<int64_t>& ks, torch::Device device,
                                   int64_t chunk) {
  if (gallery.dim() != 2 || queries.dim() != 2 || gallery.size(1) != queries.size(1)) {
    throw std::invalid_argument(
        "retrieval: gallery and query features must be (G, D) and (Q, D), got " +
        c10::str(gallery.sizes()) + " and " + c10::str(queries.sizes()));
  }
  if (gallery_labels.dim() != 1 || gallery_labels.size(0) != gallery.size(0) ||
      query_labels.dim() != 1 || query_labels.size(0) != queries.size(0)) {
    throw std::invalid_argument("retrieval: need one label per gallery and per query row");
  }
  const int64_t G = gallery.size(0);
  if (ks.empty()) throw std::invalid_argument("retrieval: no k given");
  for (const int64_t k : ks) {
    if (k < 1 || k > G) {
      throw std::invalid_argument("retrieval: k must be in [1, " + std::to_string(G) +
                                  "] (the gallery size), got " + std::to_string(k));
    }
  }
  if (chunk < 1) throw std::invalid_argument("retrieval: chunk must be >= 1");
  torch::NoGradGuard no_grad;
  namespace F = torch::nn::functional;
  const auto unit = F::NormalizeFuncOptions().dim(1);
  const int64_t max_k = *std::max_element(ks.begin(), ks.end());
  const torch::Tensor g = F::normalize(gallery.to(device, torch::kFloat), unit);  // (G, D)
  const torch::Tensor g_labels = gallery_labels.to(device, torch::kInt64);        // (G)
  const torch::Tensor ranks = torch::arange(1, G + 1, g.options());               // (G) 1..G

  RetrievalMetrics m;
  m.ks = ks;
  std::vector<double> precision_sum(ks.size(), 0.0);
  double ap_sum = 0;
  std::vector<torch::Tensor> top;
  const int64_t Q = queries.size(0);
  for (int64_t start = 0; start < Q; start += chunk) {
    const int64_t c = std::min(chunk, Q - start);
    const torch::Tensor q =
        F::normalize(queries.slice(0, start, start + c).to(device, torch::kFloat), unit);
    const torch::Tensor sim = torch::mm(q, g.t());  // (c, G)
    // Stable descending sort: equal similarities keep gallery order.
    const torch::Tensor order =
        std::get<1>(torch::sort(sim, /*stable=*/true, /*dim=*/1, /*descending=*/true));
    const torch::Tensor q_labels =
        query_labels.slice(0, start, start + c).to(device, torch::kInt64);
    const torch::Tensor relevant =  // (c, G) 1 where the ranked image shares the query's label
        g_labels.index_select(0, order.reshape({-1}))
            .view({c, G})
            .eq(q_labels.unsqueeze(1))
            .to(torch::kFloat);
    const torch::Tensor hits = relevant.cumsum(1);  // (c, G) relevant images up to each rank
    for (size_t i = 0; i < ks.size(); ++i) {
      precision_sum[i] +=
          hits.select(1, ks[i] - 1).sum().item<double>() / static_cast<double>(ks[i]);
    }
    // AP = mean over relevant ranks r of precision@r.
    const torch::Tensor n_relevant = hits.select(1, G - 1);  // (c)
    const torch::Tensor ap = (relevant * hits / ranks).sum(1) / n_relevant.clamp_min(1);
    ap_sum += ap.sum().item<double>();
    top.push_back(order.narrow(1, 0, max_k).to(torch::kCPU));
  }
  for (size_t i = 0; i < ks.size(); ++i) {
    m.precision_at_k.push_back(Q > 0 ? precision_sum[i] / static_cast<double>(Q) : 0.0);
  }
  m.mean_average_precision = Q > 0 ? ap_sum / static_cast<double>(Q) : 0.0;
  m.top = top.empty() ? torch::empty({0, max_k}, torch::kInt64) : torch::cat(top, 0);
  return m;
}

#ifdef RELNET_WITH_IMAGE_IO
cv::Mat retrieval_grid(const torch::Tensor& query_images, const torch::Tensor& query_labels,
                       const torch::Tensor& gallery_images, const torch::Tensor& gallery_labels,
                       const torch::Tensor& top, int64_t rows, int64_t k,
                       const std::vector<std::string>& class_names) {
  const int64_t Q = query_images.size(0);
  if (rows < 1 || k < 1 || Q < 1 || top.size(0) != Q || top.size(1) < k) {
    throw std::invalid_argument(
        "retrieval grid: need rows, k >= 1 and top of (Q, >= k), got rows " + std::to_string(rows) +
        ", k " + std::to_string(k));
  }
  rows = std::min(rows, Q);
  const torch::Tensor qi = query_images.contiguous(), gi = gallery_images.contiguous();
  const torch::Tensor ql = query_labels.to(torch::kCPU), gl = gallery_labels.to(torch::kCPU);
  const torch::Tensor t = top.to(torch::kCPU);
  const int h = static_cast<int>(qi.size(2)), w = static_cast<int>(qi.size(3));
  const int cell = tile_cell(std::max(h, w), 64);
  const cv::Scalar query_frame(60, 60, 60), same(80, 170, 40), other(40, 40, 220);
  std::vector<cv::Mat> tiles;
  std::vector<std::string> row_labels, column_labels{"query"};
  for (int64_t j = 0; j < k; ++j) column_labels.push_back(std::to_string(j + 1));
  for (int64_t r = 0; r < rows; ++r) {
    const int64_t q = r * Q / rows;
    const int64_t label = ql[q].item<int64_t>();
    tiles.push_back(
        with_border(image_tile(qi[q].data_ptr<uint8_t>(), 3, h, w, cell), 3, query_frame));
    for (int64_t j = 0; j < k; ++j) {
      const int64_t g = t[q][j].item<int64_t>();
      const bool hit = gl[g].item<int64_t>() == label;
      tiles.push_back(
          with_border(image_tile(gi[g].data_ptr<uint8_t>(), 3, h, w, cell), 3, hit ? same : other));
    }
    row_labels.push_back(label >= 0 && label < static_cast<int64_t>(class_names.size())
                             ? class_names[static_cast<size_t>(label)]
                             : "#" + std::to_string(q));
  }
  return tile_grid(tiles, static_cast<int>(k + 1), 4, row_labels, column_labels);
}

#endif

RetrievalResult retrieval_eval(const RetrievalOptions& opt) {
  if (!opt.grid.empty()) require_image_io("--grid '" + opt.grid + "'");
  const auto t0 = std::chrono::steady_clock::now();
  const EvalData d = load_eval_data(opt, "retrieval");
  RetrievalResult r;
  // The grid's neighbours come from the same ranking: ask for enough of it.
  std::vector<int64_t> ks = opt.ks;
  const int64_t grid_k = std::min(opt.grid_k, d.train_features.size(0));
  if (!opt.grid.empty()) ks.push_back(grid_k);
  r.metrics = retrieval_metrics(d.train_features, d.train_labels, d.test_features, d.test_labels,
                                ks, d.device);
  r.metrics.ks.resize(opt.ks.size());
  r.metrics.precision_at_k.resize(opt.ks.size());
  r.out_path = eval_output_path(opt.out, opt.checkpoint, "retrieval.json", opt.random_init);
  json precision = json::object();
  for (size_t i = 0; i < opt.ks.size(); ++i) {
    precision[std::to_string(opt.ks[i])] = r.metrics.precision_at_k[i];
  }
  r.report = eval_report_header(opt, d);
  r.report.update(json{
      {"queries", "test"},
      {"gallery", "train"},
      {"similarity", "cosine"},
      {"precision_at_k", precision},
      {"mAP", r.metrics.mean_average_precision},
      {"seconds", std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count()}});
  write_file_atomic(r.out_path, r.report.dump(2) + "\n");
#ifdef RELNET_WITH_IMAGE_IO
  if (!opt.grid.empty()) {
    const ImageDataset train =
        load_dataset(d.dataset, d.data_root, Split::kTrain, opt.train_subset, d.image_side);
    const ImageDataset test =
        load_dataset(d.dataset, d.data_root, Split::kTest, opt.test_subset, d.image_side);
    write_png(opt.grid, retrieval_grid(test.images, test.labels, train.images, train.labels,
                                       r.metrics.top, opt.grid_queries, grid_k, d.class_names));
  }
#endif
  return r;
}

}  // namespace relnet
