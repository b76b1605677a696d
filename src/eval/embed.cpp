// PCA of frozen test features, drawn coloured by class.
#include "relnet/eval/embed.h"

#include <spdlog/fmt/fmt.h>
#include <spdlog/spdlog.h>

#include <stdexcept>

#include "relnet/util/fs.h"
#include "relnet/util/plot.h"

namespace relnet {
namespace {

using nlohmann::json;

#ifdef RELNET_WITH_IMAGE_IO
// One marker series per class (legend entries for up to 20 classes).
cv::Mat draw_embedding(const torch::Tensor& points, const torch::Tensor& labels,
                       const std::vector<std::string>& class_names, const std::string& title,
                       const torch::Tensor& ratio) {
  const size_t classes = class_names.size();
  Panel panel{title,
              fmt::format("PC 1 ({:.1f}% of the variance)", 100 * ratio[0].item<double>()),
              fmt::format("PC 2 ({:.1f}%)", 100 * ratio[1].item<double>()),
              {},
              std::nullopt};
  const auto p = points.to(torch::kFloat64).contiguous();
  const auto l = labels.to(torch::kInt64).contiguous();
  const double* xy = p.data_ptr<double>();
  const int64_t* label = l.data_ptr<int64_t>();
  for (size_t c = 0; c < classes; ++c) {
    Series s{classes <= 20 ? class_names[c] : std::string(), {}, {}, class_color(c, classes)};
    s.line = false;
    s.markers = true;
    s.thickness = 0;  // dots of radius 2
    for (int64_t i = 0; i < p.size(0); ++i) {
      if (label[i] != static_cast<int64_t>(c)) continue;
      s.x.push_back(xy[2 * i]);
      s.y.push_back(xy[2 * i + 1]);
    }
    panel.series.push_back(std::move(s));
  }
  return draw_panels({panel}, 900, 760);
}
#endif

}  // namespace

std::pair<torch::Tensor, torch::Tensor> pca_2d(const torch::Tensor& features) {
  if (features.dim() != 2 || features.size(0) < 2 || features.size(1) < 2) {
    throw std::invalid_argument("pca_2d: need (N, D) features with N >= 2 and D >= 2, got " +
                                c10::str(features.sizes()));
  }
  torch::NoGradGuard no_grad;
  const auto x = features.to(torch::kCPU, torch::kFloat64);
  const auto centred = x - x.mean(0, /*keepdim=*/true);                           // (N, D)
  const auto cov = centred.t().mm(centred) / static_cast<double>(x.size(0) - 1);  // (D, D)
  const auto [values, vectors] = torch::linalg_eigh(cov);  // ascending eigenvalues
  const int64_t D = x.size(1);
  auto top = vectors.slice(1, D - 2, D).flip({1});  // (D, 2): largest first
  // Sign: the entry of largest magnitude positive.
  const auto pivot = top.abs().argmax(0);                       // (2)
  const auto signs = top.gather(0, pivot.unsqueeze(0)).sign();  // (1, 2)
  top = top * torch::where(signs == 0, torch::ones_like(signs), signs);
  const auto total = values.clamp_min(0).sum();
  const auto ratio = values.slice(0, D - 2, D).flip({0}).clamp_min(0) /
                     torch::where(total > 0, total, torch::ones_like(total));
  return {centred.mm(top), ratio};
}

EmbedResult embed(const EmbedOptions& opt) {
  require_image_io("relnet embed");
  const EvalData d = load_eval_data(opt, "embedding", /*with_train=*/false);
  const auto [points, ratio] = pca_2d(d.test_features);
  EmbedResult r;
  r.png_path = eval_output_path(opt.out, opt.checkpoint, "embed.png", opt.random_init);
  r.report = eval_report_header(opt, d);
  r.report.erase("train_images");
  r.report["method"] = "pca";
  r.report["explained_variance_ratio"] = {ratio[0].item<double>(), ratio[1].item<double>()};
  r.report["class_names"] = d.class_names;
  r.report["picture"] = r.png_path;
#ifdef RELNET_WITH_IMAGE_IO
  const std::string title =
      fmt::format("{} features of {} {} test images (PCA){}", d.backbone_name,
                  d.test_features.size(0), d.dataset, opt.random_init ? ", random weights" : "");
  write_png(r.png_path, draw_embedding(points, d.test_labels, d.class_names, title, ratio));
#endif
  if (!opt.json_out.empty()) {
    r.json_path = opt.json_out;
    json out = r.report;
    const auto p = points.contiguous();
    const double* xy = p.data_ptr<double>();
    std::vector<double> xs, ys;
    for (int64_t i = 0; i < p.size(0); ++i) xs.push_back(xy[2 * i]), ys.push_back(xy[2 * i + 1]);
    const auto l = d.test_labels.contiguous();
    out["x"] = xs;
    out["y"] = ys;
    out["labels"] = std::vector<int64_t>(l.data_ptr<int64_t>(), l.data_ptr<int64_t>() + l.numel());
    write_file_atomic(r.json_path, out.dump() + "\n");
  }
  return r;
}

}  // namespace relnet
