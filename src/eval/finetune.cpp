// Fine-tuning of backbone + linear classifier.
#include "relnet/eval/finetune.h"

#include <spdlog/fmt/fmt.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <cmath>
#include <stdexcept>

#include "relnet/augment/batcher.h"
#include "relnet/augment/pipeline.h"
#include "relnet/eval/classification.h"
#include "relnet/eval/linear_eval.h"
#include "relnet/util/fs.h"
#include "relnet/util/logging.h"
#include "relnet/util/progress.h"
#include "relnet/util/runtime.h"

namespace relnet {

using nlohmann::json;

namespace {

double since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

// Logits (N, classes) of backbone + classifier over uint8 images, in eval mode.
torch::Tensor scores_of(BackboneImpl& backbone, torch::nn::Linear& classifier,
                        const torch::Tensor& images, const Normalization& norm,
                        torch::Device device) {
  classifier->eval();
  return classifier_scores(classifier, extract_features(backbone, images, norm, device), device);
}

}  // namespace

torch::Tensor flip_and_shift(const torch::Tensor& images, double max_shift, Rng& rng) {
  const int64_t B = images.size(0), H = images.size(2), W = images.size(3);
  const int64_t sh = std::llround(max_shift * static_cast<double>(H));
  const int64_t sw = std::llround(max_shift * static_cast<double>(W));
  namespace F = torch::nn::functional;
  const torch::Tensor padded =
      (sh > 0 || sw > 0)
          ? F::pad(images, F::PadFuncOptions({sw, sw, sh, sh}).mode(torch::kReplicate))
          : images;  // (B, 3, H + 2sh, W + 2sw)
  torch::Tensor out = torch::empty_like(images);
  for (int64_t i = 0; i < B; ++i) {
    const int64_t dy = rng.randint(0, 2 * sh), dx = rng.randint(0, 2 * sw);
    torch::Tensor view = padded[i].narrow(1, dy, H).narrow(2, dx, W);  // (3, H, W)
    if (rng.bernoulli(0.5)) view = view.flip({2});
    out[i].copy_(view);
  }
  return out;
}

FinetuneResult finetune(const FinetuneOptions& opt) {
  const auto t_start = std::chrono::steady_clock::now();
  if (opt.epochs < 1)
    throw std::invalid_argument("--epochs must be >= 1, got " + std::to_string(opt.epochs));
  if (opt.batch_size < 2) {
    throw std::invalid_argument("--batch-size must be >= 2 (BatchNorm in training mode), got " +
                                std::to_string(opt.batch_size));
  }
  if (!(opt.backbone_lr > 0) || !(opt.classifier_lr > 0) || opt.weight_decay < 0) {
    throw std::invalid_argument("learning rates must be > 0 and weight decay >= 0");
  }
  if (opt.max_shift < 0 || opt.max_shift >= 0.5) {
    throw std::invalid_argument("--max-shift must be in [0, 0.5), got " +
                                std::to_string(opt.max_shift));
  }
  EvalData d = load_eval_model(opt);
  const ImageDataset train =
      load_dataset(d.dataset, d.data_root, Split::kTrain, opt.train_subset, d.image_side);
  const ImageDataset test =
      load_dataset(d.dataset, d.data_root, Split::kTest, opt.test_subset, d.image_side);
  if (train.size() < 2) throw std::invalid_argument("fine-tuning needs at least 2 train images");
  spdlog::info("fine-tuning {} backbone{} on {} ({} train / {} test images), device {}, {} threads",
               d.backbone_name,
               opt.random_init ? " from RANDOM weights" : " from '" + opt.checkpoint + "'",
               d.dataset, train.size(), test.size(), d.device.str(), d.threads);

  torch::manual_seed(static_cast<uint64_t>(opt.seed));
  torch::nn::Linear classifier(d.backbone->feature_size(), train.num_classes);
  classifier->to(d.device);
  std::vector<torch::optim::OptimizerParamGroup> groups;
  groups.emplace_back(
      d.backbone->parameters(),
      std::make_unique<torch::optim::AdamOptions>(
          torch::optim::AdamOptions(opt.backbone_lr).weight_decay(opt.weight_decay)));
  groups.emplace_back(
      classifier->parameters(),
      std::make_unique<torch::optim::AdamOptions>(
          torch::optim::AdamOptions(opt.classifier_lr).weight_decay(opt.weight_decay)));
  torch::optim::Adam optimizer(std::move(groups), torch::optim::AdamOptions(opt.backbone_lr));

  const int64_t n = train.size();
  const torch::Tensor labels = train.labels.to(d.device);
  double last_loss = 0;
  const auto t_fit = std::chrono::steady_clock::now();
  ProgressBar bar("fine-tune", opt.epochs);
  for (int64_t epoch = 0; epoch < opt.epochs; ++epoch) {
    d.backbone->train();
    classifier->train();
    // Seeded shuffle and augmentation: the same seed gives the same network.
    const uint64_t seed = derive_seed({static_cast<uint64_t>(opt.seed), 0xf1e7ULL});
    std::vector<int64_t> order = epoch_permutation(n, seed, epoch);
    const torch::Tensor perm = torch::from_blob(order.data(), {n}, torch::kInt64).clone();
    Rng rng(derive_seed({seed, static_cast<uint64_t>(epoch), 1}));
    double loss_sum = 0;
    int64_t batches = 0;
    // The last incomplete batch is dropped when it would hold one image
    // (BatchNorm cannot normalize a batch of one).
    for (int64_t start = 0; start + 1 < n; start += opt.batch_size) {
      const torch::Tensor idx = perm.slice(0, start, std::min(start + opt.batch_size, n));
      const torch::Tensor x =
          flip_and_shift(normalize_images(train.images.index_select(0, idx), d.normalization),
                         opt.max_shift, rng)
              .to(d.device);
      const torch::Tensor loss = torch::nn::functional::cross_entropy(
          classifier->forward(d.backbone->forward(x)), labels.index_select(0, idx.to(d.device)));
      optimizer.zero_grad();
      loss.backward();
      optimizer.step();
      const double value = loss.item<double>();
      if (!std::isfinite(value)) {
        throw std::runtime_error("fine-tuning loss became " + std::to_string(value) + " at epoch " +
                                 std::to_string(epoch + 1) +
                                 "; lower --backbone-lr / --classifier-lr");
      }
      loss_sum += value;
      ++batches;
      if (stop_requested())
        throw std::runtime_error("fine-tuning interrupted; nothing was written");
    }
    last_loss = batches > 0 ? loss_sum / static_cast<double>(batches) : 0.0;
    const double elapsed = since(t_fit);
    bar.update(
        epoch + 1, fmt::format("loss {:.4f}", last_loss),
        elapsed / static_cast<double>(epoch + 1) * static_cast<double>(opt.epochs - epoch - 1));
    if ((epoch + 1) % 10 == 0 || epoch + 1 == opt.epochs || epoch == 0) {
      log_periodic(
          fmt::format("fine-tune epoch {}/{} | loss {:.4f}", epoch + 1, opt.epochs, last_loss));
    }
  }
  const double fit_seconds = since(t_fit);

  FinetuneResult r;
  const torch::Tensor train_pred =
      scores_of(*d.backbone, classifier, train.images, d.normalization, d.device).argmax(1);
  const json scored = classification_report(
      scores_of(*d.backbone, classifier, test.images, d.normalization, d.device), test.labels,
      train.num_classes, train.class_names);
  r.train_accuracy = train_pred.eq(train.labels).to(torch::kFloat64).mean().item<double>();
  r.test_accuracy = scored["test_accuracy"].get<double>();
  r.out_path = eval_output_path(opt.out, opt.checkpoint, "finetune.json", opt.random_init);
  r.classifier_path =
      eval_output_path(opt.classifier_out, opt.checkpoint, "finetune.pt", opt.random_init);

  save_classifier_checkpoint(r.classifier_path, d, *d.backbone, classifier, train.class_names,
                             json{{"finetuned", true},
                                  {"random_init", opt.random_init},
                                  {"train_accuracy", r.train_accuracy},
                                  {"test_accuracy", r.test_accuracy}});

  r.report = json{{"checkpoint", opt.checkpoint},
                  {"backbone", d.backbone_name},
                  {"random_init", opt.random_init},
                  {"dataset", d.dataset},
                  {"data_root", d.data_root},
                  {"train_images", train.size()},
                  {"test_images", test.size()},
                  {"feature_size", d.backbone->feature_size()},
                  {"classes", train.num_classes},
                  {"epochs", opt.epochs},
                  {"batch_size", opt.batch_size},
                  {"backbone_lr", opt.backbone_lr},
                  {"classifier_lr", opt.classifier_lr},
                  {"weight_decay", opt.weight_decay},
                  {"max_shift", opt.max_shift},
                  {"seed", opt.seed},
                  {"last_epoch_loss", last_loss},
                  {"train_accuracy", r.train_accuracy},
                  {"classifier_file", r.classifier_path},
                  {"training_seconds", fit_seconds},
                  {"seconds", since(t_start)}};
  r.report.update(scored);
  write_file_atomic(r.out_path, r.report.dump(2) + "\n");
  return r;
}

}  // namespace relnet
