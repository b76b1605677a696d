// A saved linear classifier on a test split.
#include "relnet/eval/test_classifier.h"

#include <spdlog/spdlog.h>

#include <chrono>
#include <stdexcept>

#include "relnet/eval/classification.h"
#include "relnet/eval/linear_eval.h"
#include "relnet/train/checkpoint.h"
#include "relnet/util/fs.h"

namespace relnet {

using nlohmann::json;

TestResult test_classifier(const TestOptions& opt) {
  const auto t0 = std::chrono::steady_clock::now();
  if (opt.random_init)
    throw std::invalid_argument("test evaluates a saved classifier; --random-init does not apply");
  const EvalData d = load_eval_data(opt, "test", /*with_train=*/false);
  if (d.classifier.empty()) {
    throw std::runtime_error("checkpoint '" + opt.checkpoint +
                             "' holds no classifier: relnet test takes the linear.pt written by "
                             "relnet linear-eval (for a backbone.pt, run linear-eval)");
  }
  const int64_t classes =
      d.checkpoint_meta.value("linear_eval", json::object()).value("classes", int64_t{0});
  if (classes != d.num_classes) {
    throw std::runtime_error("checkpoint '" + opt.checkpoint + "' classifies " +
                             std::to_string(classes) + " classes, the " + d.dataset +
                             " test split has " + std::to_string(d.num_classes));
  }
  torch::nn::Linear classifier(d.test_features.size(1), classes);
  load_state_dict(*classifier, d.classifier,
                  "the classifier of checkpoint '" + opt.checkpoint + "'");
  classifier->to(d.device);
  const json scored =
      classification_report(classifier_scores(classifier, d.test_features, d.device), d.test_labels,
                            d.num_classes, d.class_names);
  TestResult r;
  r.test_accuracy = scored["test_accuracy"].get<double>();
  r.out_path = eval_output_path(opt.out, opt.checkpoint, "test.json", false);
  r.report = eval_report_header(opt, d);
  r.report.erase("train_images");
  r.report.update(json{
      {"seconds", std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count()}});
  r.report.update(scored);
  write_file_atomic(r.out_path, r.report.dump(2) + "\n");
  return r;
}

}  // namespace relnet
