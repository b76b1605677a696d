// Weighted kNN classification on frozen, L2-normalized features.
#include "relnet/eval/knn.h"

#include <spdlog/spdlog.h>

#include <chrono>
#include <stdexcept>

#include "relnet/eval/classification.h"
#include "relnet/util/fs.h"

namespace relnet {

using nlohmann::json;

torch::Tensor knn_scores(const torch::Tensor& train, const torch::Tensor& train_labels,
                         const torch::Tensor& queries, int64_t classes, int64_t k,
                         double temperature, torch::Device device, int64_t chunk) {
  if (train.dim() != 2 || queries.dim() != 2 || train.size(1) != queries.size(1)) {
    throw std::invalid_argument("knn: train and query features must be (N, D) and (Q, D), got " +
                                c10::str(train.sizes()) + " and " + c10::str(queries.sizes()));
  }
  if (train_labels.dim() != 1 || train_labels.size(0) != train.size(0) || train.size(0) == 0) {
    throw std::invalid_argument("knn: need one label per train row (and at least one row), got " +
                                c10::str(train_labels.sizes()) + " labels for " +
                                std::to_string(train.size(0)) + " rows");
  }
  if (k < 1) throw std::invalid_argument("knn: k must be >= 1, got " + std::to_string(k));
  if (!(temperature > 0)) {
    throw std::invalid_argument("knn: temperature must be > 0, got " + std::to_string(temperature));
  }
  if (classes < 1 || chunk < 1) throw std::invalid_argument("knn: classes and chunk must be >= 1");
  torch::NoGradGuard no_grad;
  namespace F = torch::nn::functional;
  const auto unit = F::NormalizeFuncOptions().dim(1);
  k = std::min(k, train.size(0));
  const torch::Tensor gallery = F::normalize(train.to(device, torch::kFloat), unit);  // (N, D)
  const torch::Tensor labels = train_labels.to(device, torch::kInt64);                // (N)
  std::vector<torch::Tensor> scores;
  for (int64_t start = 0; start < queries.size(0); start += chunk) {
    const int64_t c = std::min(chunk, queries.size(0) - start);
    const torch::Tensor q =
        F::normalize(queries.slice(0, start, start + c).to(device, torch::kFloat), unit);
    const torch::Tensor sim = torch::mm(q, gallery.t());          // (c, N) cosine
    const auto [top_sim, top_idx] = sim.topk(k, /*dim=*/1);       // (c, k)
    const torch::Tensor weights = (top_sim / temperature).exp();  // (c, k)
    const torch::Tensor top_labels = labels.index_select(0, top_idx.reshape({-1})).view({c, k});
    const torch::Tensor votes =
        torch::zeros({c, classes}, weights.options()).scatter_add_(1, top_labels, weights);
    scores.push_back(votes.to(torch::kCPU));
  }
  if (scores.empty()) return torch::empty({0, classes}, torch::kFloat);
  return torch::cat(scores, 0);
}

torch::Tensor knn_predict(const torch::Tensor& train, const torch::Tensor& train_labels,
                          const torch::Tensor& queries, int64_t classes, int64_t k,
                          double temperature, torch::Device device, int64_t chunk) {
  const torch::Tensor scores =
      knn_scores(train, train_labels, queries, classes, k, temperature, device, chunk);
  return scores.size(0) > 0 ? scores.argmax(1) : torch::empty({0}, torch::kInt64);
}

KnnResult knn_eval(const KnnOptions& opt) {
  const auto t0 = std::chrono::steady_clock::now();
  if (opt.k < 1) throw std::invalid_argument("--k must be >= 1, got " + std::to_string(opt.k));
  if (!(opt.temperature > 0)) {
    throw std::invalid_argument("--temperature must be > 0, got " +
                                std::to_string(opt.temperature));
  }
  const EvalData d = load_eval_data(opt, "kNN evaluation");
  const json scored =
      classification_report(knn_scores(d.train_features, d.train_labels, d.test_features,
                                       d.num_classes, opt.k, opt.temperature, d.device),
                            d.test_labels, d.num_classes, d.class_names);
  KnnResult r;
  r.test_accuracy = scored["test_accuracy"].get<double>();
  r.out_path = eval_output_path(opt.out, opt.checkpoint, "knn.json", opt.random_init);
  r.report = eval_report_header(opt, d);
  r.report.update(json{
      {"k", std::min(opt.k, d.train_features.size(0))},
      {"temperature", opt.temperature},
      {"seconds", std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count()}});
  r.report.update(scored);
  write_file_atomic(r.out_path, r.report.dump(2) + "\n");
  return r;
}

}  // namespace relnet
