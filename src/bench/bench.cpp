// `relnet bench`: timed training steps and linear evaluations.
#include "relnet/bench/bench.h"

#include <spdlog/fmt/fmt.h>
#include <spdlog/spdlog.h>
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <sstream>

#include "relnet/augment/batcher.h"
#include "relnet/augment/pipeline.h"
#include "relnet/config.h"
#include "relnet/data/dataset.h"
#include "relnet/eval/linear_eval.h"
#include "relnet/methods/method.h"
#include "relnet/models/backbone.h"
#include "relnet/train/step.h"
#include "relnet/util/runtime.h"

namespace relnet {
namespace {

using nlohmann::json;
using Clock = std::chrono::steady_clock;

double since(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

double median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

// Noise images of CIFAR's shape (or `side`), with labels i % 10.
ImageDataset generated(int64_t n, int64_t side, uint64_t seed) {
  torch::manual_seed(seed);
  ImageDataset ds;
  ds.name = "generated";
  ds.images = torch::randint(0, 256, {n, 3, side, side}, torch::kUInt8);  // (N, 3, side, side)
  ds.labels = torch::arange(n, torch::kInt64).remainder(10);              // (N)
  ds.num_classes = 10;
  for (int c = 0; c < 10; ++c) ds.class_names.push_back(std::to_string(c));
  return ds;
}

// The config a bench run trains with: the method's defaults, the bench's sizes.
Config bench_config(const BenchOptions& o) {
  Config c;
  c.method.name = o.method;
  c.augment.K = o.K;
  c.model.backbone = o.backbone;
  c.model.aggregation = o.aggregation;
  c.model.pairs_matrix = o.straightforward;
  c.model.fused = o.fused;
  c.train.batch_size = o.batch;
  c.train.precision = o.precision;
  c.train.seed = 1;
  return c;
}

json train_bench(const BenchOptions& o, torch::Device device, int threads, int64_t workers) {
  if (o.precision != "fp32" && o.precision != "bf16") {
    throw std::invalid_argument("bench: precision must be fp32 or bf16, got '" + o.precision + "'");
  }
  const int64_t total_steps = o.warmup + o.steps;
  const ImageDataset data =
      o.dataset.empty()
          ? generated(o.batch * total_steps, o.side, 1)
          : load_dataset(o.dataset, o.data_root, default_train_split(o.dataset, o.data_root),
                         o.batch * total_steps);
  Config config = bench_config(o);
  // DeepCluster: the reference's 100 clusters (CIFAR-10), fewer on a small bench set.
  config.method.clusters = std::min<int64_t>(100, data.size());
  const Normalization norm = o.dataset.empty() ? default_normalization("cifar10")
                                               : dataset_normalization(o.dataset, o.data_root);

  torch::manual_seed(1);
  Backbone backbone = make_backbone(o.backbone);
  backbone->set_fused(o.fused);
  backbone->to(device);
  std::unique_ptr<Method> method = make_method({&config, &data, norm, device, backbone});
  const ViewAugmenter augmenter(config.augment, norm, data.side(), method->view_recipe());
  ViewBatcher batcher(data, augmenter, method->views_per_image(), o.batch, 1, workers, 2);
  std::unique_ptr<torch::optim::Optimizer> optimizer =
      method->make_optimizer(method_parameters(backbone, *method), effective_lr(config, *method));
  TrainStep step(backbone, *method);
  step.set_bf16(o.precision == "bf16");
  if (device.is_cuda()) configure_cudnn(/*deterministic=*/false);
  const auto t_epoch = Clock::now();
  method->start_epoch(0, 1, false, *optimizer);  // DeepCluster clusters here
  const double epoch_start_s = since(t_epoch);
  backbone->train();
  for (const auto& [key, module] : method->modules()) module->train();

  std::vector<double> wall, wait, bf, pairs, hf, hb, bb, opt;
  double loss = 0;
  batcher.start_epoch(0);
  for (int64_t s = 0; s < total_steps; ++s) {
    const auto t0 = Clock::now();
    std::optional<ViewBatch> batch = batcher.next();
    if (!batch) throw std::runtime_error("bench: the data ran out");
    const double wait_s = since(t0);
    StepTimes times;
    const StepOutput out =
        step.forward_backward({batch->views.to(device), batch->images, 0, batch->index}, &times);
    const auto t_opt = Clock::now();
    optimizer->step();
    loss = out.loss.item<double>();
    times.optimizer = since(t_opt);
    if (s < o.warmup) continue;
    wall.push_back(since(t0));
    wait.push_back(wait_s);
    bf.push_back(times.backbone_forward);
    pairs.push_back(times.pairs);
    hf.push_back(times.head_forward);
    hb.push_back(times.head_backward);
    bb.push_back(times.backbone_backward);
    opt.push_back(times.optimizer);
  }
  const double step_s = median(wall);
  const int64_t inputs = method->inputs_per_image() * o.batch;
  const bool relational = o.method == "relational";
  return json{{"mode", "train"},
              {"method", o.method},
              {"backbone", o.backbone},
              {"aggregation", o.aggregation},
              {"K", relational ? o.K : method->views_per_image()},
              {"batch", o.batch},
              {"views_per_step", inputs},
              {"pairs_per_step", relational ? o.K * (o.K - 1) * o.batch : 0},
              {"steps", o.steps},
              {"threads", threads},
              {"workers", workers},
              {"device", device.str()},
              {"data", o.dataset.empty() ? "generated" : o.dataset},
              {"straightforward", o.straightforward},
              {"fused", o.fused},
              {"precision", o.precision},
              {"images_per_s", static_cast<double>(inputs) / step_s},
              {"seconds_per_step", step_s},
              {"epoch_start_s", epoch_start_s},
              {"split_s",
               {{"data_wait", median(wait)},
                {"backbone_forward", median(bf)},
                {"pairs", median(pairs)},
                {"head_forward", median(hf)},
                {"head_backward", median(hb)},
                {"backbone_backward", median(bb)},
                {"optimizer", median(opt)}}},
              {"loss", loss},
              {"peak_rss_mb", peak_rss_mb()}};
}

json linear_eval_bench(const BenchOptions& o, torch::Device device, int threads) {
  const ImageDataset train = generated(o.train_images, o.side, 2);
  const ImageDataset test = generated(o.test_images, o.side, 3);
  torch::manual_seed(1);
  Backbone backbone = make_backbone(o.backbone);
  backbone->to(device);
  const Normalization norm = default_normalization("cifar10");
  const auto t0 = Clock::now();
  const torch::Tensor train_f = extract_features(*backbone, train.images, norm, device);
  const torch::Tensor test_f = extract_features(*backbone, test.images, norm, device);
  const double features_s = since(t0);
  const auto t1 = Clock::now();
  torch::nn::Linear classifier =
      train_linear_classifier(train_f, train.labels, 10, o.epochs, 128, 1e-3, 1, device);
  const double classifier_s = since(t1);
  const double accuracy = classifier_accuracy(classifier, test_f, test.labels, device);
  return json{
      {"mode", "linear_eval"},
      {"backbone", o.backbone},
      {"epochs", o.epochs},
      {"train_images", o.train_images},
      {"test_images", o.test_images},
      {"threads", threads},
      {"device", device.str()},
      {"features_s", features_s},
      {"classifier_s", classifier_s},
      {"seconds_per_epoch", classifier_s / static_cast<double>(std::max<int64_t>(1, o.epochs))},
      {"seconds", since(t0)},
      {"test_accuracy", accuracy},
      {"peak_rss_mb", peak_rss_mb()}};
}

}  // namespace

double peak_rss_mb() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return static_cast<double>(usage.ru_maxrss) / 1024.0;
}

json run_bench(const BenchOptions& o) {
  if (o.K < 2 || o.batch < 2) throw std::invalid_argument("bench needs --K >= 2 and --batch >= 2");
  if (o.steps < 1 || o.warmup < 0)
    throw std::invalid_argument("bench needs --steps >= 1, --warmup >= 0");
  const torch::Device device = resolve_device(o.device);
  const int threads = set_threads(o.threads);
  const int64_t workers = augmentation_workers(o.workers, device.is_cuda(), hardware_threads());
  return o.linear_eval ? linear_eval_bench(o, device, threads)
                       : train_bench(o, device, threads, workers);
}

std::string format_bench(const json& r) {
  std::ostringstream out;
  if (r["mode"] == "linear_eval") {
    out << fmt::format(
        "linear evaluation, {} on {} + {} images, {} epochs, {} threads, {}: features {:.2f} s, "
        "classifier {:.2f} s ({:.3f} s/epoch), total {:.2f} s; peak memory {:.0f} MB\n",
        r["backbone"].get<std::string>(), r["train_images"].get<int64_t>(),
        r["test_images"].get<int64_t>(), r["epochs"].get<int64_t>(), r["threads"].get<int>(),
        r["device"].get<std::string>(), r["features_s"].get<double>(),
        r["classifier_s"].get<double>(), r["seconds_per_epoch"].get<double>(),
        r["seconds"].get<double>(), r["peak_rss_mb"].get<double>());
    return out.str();
  }
  const std::string method = r.value("method", "relational");
  const std::string sizes =
      method == "relational"
          ? fmt::format("K={} batch={} ({} pairs)", r["K"].get<int64_t>(),
                        r["batch"].get<int64_t>(), r["pairs_per_step"].get<int64_t>())
          : fmt::format("{} batch={} ({} backbone inputs)", method, r["batch"].get<int64_t>(),
                        r.value("views_per_step", int64_t{0}));
  out << fmt::format(
      "{} {}, {} threads, {}, {}{}:\n"
      "  {:.0f} augmented images/s, {:.3f} s per step (median of {}), peak memory {:.0f} MB\n",
      r["backbone"].get<std::string>(), sizes, r["threads"].get<int>(),
      r["workers"].get<int64_t>() > 0
          ? fmt::format("{} augmentation workers", r["workers"].get<int64_t>())
          : std::string("augmentation on the same threads"),
      r["device"].get<std::string>(),
      std::string(r["straightforward"].get<bool>() ? ", straightforward pairs" : "") +
          (r.value("fused", true) ? "" : ", unfused"),
      r["images_per_s"].get<double>(), r["seconds_per_step"].get<double>(),
      r["steps"].get<int64_t>(), r["peak_rss_mb"].get<double>());
  out << "  split (s):";
  // In the order a step runs, not the JSON object's alphabetical one.
  for (const char* k : {"data_wait", "backbone_forward", "pairs", "head_forward", "head_backward",
                        "backbone_backward", "optimizer"}) {
    out << fmt::format(" {} {:.3f}", k, r["split_s"].value(k, 0.0));
  }
  out << "\n";
  if (r.value("epoch_start_s", 0.0) > 0.01) {
    out << fmt::format("  start of epoch (DeepCluster's clustering): {:.2f} s\n",
                       r["epoch_start_s"].get<double>());
  }
  return out.str();
}

}  // namespace relnet
