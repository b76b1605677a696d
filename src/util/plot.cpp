// Charts and grids on OpenCV canvases.
#include "relnet/util/plot.h"

#include <stdexcept>

#ifdef RELNET_WITH_IMAGE_IO
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <limits>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <stdexcept>

#include "relnet/util/fs.h"
#endif

namespace relnet {

bool image_io_available() {
#ifdef RELNET_WITH_IMAGE_IO
  return true;
#else
  return false;
#endif
}

void require_image_io(const std::string& what) {
  if (!image_io_available()) {
    throw std::runtime_error(what +
                             " needs image I/O, and this relnet was built without it "
                             "(-DRELNET_WITH_IMAGE_IO=OFF; rebuild with OpenCV to enable it)");
  }
}

#ifdef RELNET_WITH_IMAGE_IO
namespace {

const cv::Scalar kWhite(255, 255, 255);
const cv::Scalar kAxis(60, 60, 60);
const cv::Scalar kGrid(225, 225, 225);
const cv::Scalar kText(30, 30, 30);
constexpr int kFont = cv::FONT_HERSHEY_SIMPLEX;

cv::Size text_size(const std::string& text, double scale, int thickness = 1) {
  int baseline = 0;
  return cv::getTextSize(text, kFont, scale, thickness, &baseline);
}

void put_text(cv::Mat& img, const std::string& text, cv::Point at, double scale,
              const cv::Scalar& color = kText, int thickness = 1) {
  cv::putText(img, text, at, kFont, scale, color, thickness, cv::LINE_AA);
}

std::string tick_label(double v, double step) {
  char buf[32];
  const int decimals = step >= 1 ? 0 : static_cast<int>(std::ceil(-std::log10(step) - 1e-9));
  std::snprintf(buf, sizeof(buf), "%.*f", std::clamp(decimals, 0, 6), v);
  return buf;
}

// A polyline in the given style; dashes follow the path's length.
void draw_line(cv::Mat& img, const std::vector<cv::Point2d>& pts, const cv::Scalar& color,
               LineStyle style, int thickness) {
  if (pts.size() < 2) return;
  const double on = style == LineStyle::kDashed ? 10 : 3;
  const double off = style == LineStyle::kDashed ? 6 : 4;
  double phase = 0;  // distance along the current on/off period
  constexpr int kShift = 4;
  constexpr double kScale = 1 << kShift;
  auto fixed = [](const cv::Point2d& p) {
    return cv::Point(static_cast<int>(std::lround(p.x * kScale)),
                     static_cast<int>(std::lround(p.y * kScale)));
  };
  for (size_t i = 1; i < pts.size(); ++i) {
    const cv::Point2d a = pts[i - 1], b = pts[i];
    if (style == LineStyle::kSolid) {
      cv::line(img, fixed(a), fixed(b), color, thickness, cv::LINE_AA, kShift);
      continue;
    }
    const double len = std::hypot(b.x - a.x, b.y - a.y);
    double t = 0;
    while (t < len) {
      const bool drawing = phase < on;
      const double left = drawing ? on - phase : on + off - phase;
      const double step = std::min(left, len - t);
      if (drawing) {
        const cv::Point2d p = a + (b - a) * (t / len);
        const cv::Point2d q = a + (b - a) * ((t + step) / len);
        cv::line(img, fixed(p), fixed(q), color, thickness, cv::LINE_AA, kShift);
      }
      t += step;
      phase += step;
      if (phase >= on + off) phase = 0;
    }
  }
}

void draw_panel(cv::Mat& canvas, const Panel& panel, cv::Rect area) {
  const int left = 64, right = 16, top = 36, bottom = 46;
  const cv::Rect plot(area.x + left, area.y + top, area.width - left - right,
                      area.height - top - bottom);
  double x_lo = std::numeric_limits<double>::infinity(), x_hi = -x_lo;
  double y_lo = x_lo, y_hi = -x_lo;
  for (const Series& s : panel.series) {
    for (size_t i = 0; i < s.x.size() && i < s.y.size(); ++i) {
      if (!std::isfinite(s.x[i]) || !std::isfinite(s.y[i])) continue;
      x_lo = std::min(x_lo, s.x[i]);
      x_hi = std::max(x_hi, s.x[i]);
      y_lo = std::min(y_lo, s.y[i]);
      y_hi = std::max(y_hi, s.y[i]);
    }
  }
  if (!std::isfinite(x_lo)) x_lo = 0, x_hi = 1, y_lo = 0, y_hi = 1;
  if (panel.y_range) std::tie(y_lo, y_hi) = *panel.y_range;
  const bool categories = !panel.x_categories.empty();
  if (categories) {
    x_lo = -0.5;
    x_hi = static_cast<double>(panel.x_categories.size()) - 0.5;
  } else {
    x_lo = std::min(x_lo, 0.0);
    if (x_hi - x_lo < 1e-12) x_hi = x_lo + 1;
    x_hi += (x_hi - x_lo) * 0.02;  // room for the last marker
  }
  if (y_hi - y_lo < 1e-12) {
    const double pad = std::max(std::abs(y_lo) * 0.1, 0.05);
    y_lo -= pad;
    y_hi += pad;
  } else if (!panel.y_range) {
    const double pad = (y_hi - y_lo) * 0.06;
    y_lo -= pad;
    y_hi += pad;
  }
  auto to_px = [&](double x, double y) {
    return cv::Point2d(plot.x + (x - x_lo) / (x_hi - x_lo) * plot.width,
                       plot.y + plot.height - (y - y_lo) / (y_hi - y_lo) * plot.height);
  };

  const double label_scale = 0.42;
  const std::vector<double> xt = nice_ticks(x_lo, x_hi, 8);
  const std::vector<double> yt = nice_ticks(y_lo, y_hi, 6);
  const double xstep = xt.size() > 1 ? xt[1] - xt[0] : 1;
  const double ystep = yt.size() > 1 ? yt[1] - yt[0] : 1;
  for (double v : yt) {
    if (v < y_lo - 1e-12 || v > y_hi + 1e-12) continue;
    const int py = static_cast<int>(std::lround(to_px(x_lo, v).y));
    cv::line(canvas, {plot.x, py}, {plot.x + plot.width, py}, kGrid, 1);
    const std::string t = tick_label(v, ystep);
    const cv::Size ts = text_size(t, label_scale);
    put_text(canvas, t, {plot.x - ts.width - 6, py + ts.height / 2}, label_scale);
  }
  for (size_t i = 0; i < (categories ? panel.x_categories.size() : xt.size()); ++i) {
    const double v = categories ? static_cast<double>(i) : xt[i];
    if (v < x_lo - 1e-12 || v > x_hi + 1e-12) continue;
    const int px = static_cast<int>(std::lround(to_px(v, y_lo).x));
    if (!categories) cv::line(canvas, {px, plot.y}, {px, plot.y + plot.height}, kGrid, 1);
    const std::string t = categories ? panel.x_categories[i] : tick_label(v, xstep);
    const cv::Size ts = text_size(t, label_scale);
    put_text(canvas, t, {px - ts.width / 2, plot.y + plot.height + ts.height + 6}, label_scale);
  }
  cv::rectangle(canvas, plot, kAxis, 1);

  const cv::Size title = text_size(panel.title, 0.6, 1);
  put_text(canvas, panel.title, {plot.x + (plot.width - title.width) / 2, area.y + 24}, 0.6, kText,
           1);
  const cv::Size xl = text_size(panel.x_label, 0.45);
  put_text(canvas, panel.x_label, {plot.x + (plot.width - xl.width) / 2, area.y + area.height - 10},
           0.45);
  if (!panel.y_label.empty()) {
    // Vertical text: draw on a strip, rotate, copy in.
    const cv::Size yl = text_size(panel.y_label, 0.45);
    cv::Mat strip(yl.height + 8, yl.width + 4, CV_8UC3, kWhite);
    put_text(strip, panel.y_label, {2, yl.height + 2}, 0.45);
    cv::Mat rotated;
    cv::rotate(strip, rotated, cv::ROTATE_90_COUNTERCLOCKWISE);
    const int x = area.x + 4;
    const int y = plot.y + (plot.height - rotated.rows) / 2;
    if (y >= 0 && y + rotated.rows <= canvas.rows && x + rotated.cols <= canvas.cols) {
      rotated.copyTo(canvas(cv::Rect(x, y, rotated.cols, rotated.rows)));
    }
  }

  // Data, clipped to the plot rectangle.
  cv::Mat view = canvas(plot);
  std::vector<cv::Point2d> all_points;  // plot coordinates, for placing the legend
  for (const Series& s : panel.series) {
    std::vector<cv::Point2d> pts;
    for (size_t i = 0; i < s.x.size() && i < s.y.size(); ++i) {
      if (!std::isfinite(s.x[i]) || !std::isfinite(s.y[i])) continue;
      pts.push_back(to_px(s.x[i], s.y[i]) - cv::Point2d(plot.x, plot.y));
    }
    for (size_t i = 0; i < pts.size(); ++i) {
      all_points.push_back(pts[i]);
      if (i + 1 < pts.size()) {
        for (int k = 1; k < 8; ++k)
          all_points.push_back(pts[i] + (pts[i + 1] - pts[i]) * (k / 8.0));
      }
    }
    if (s.bar_width > 0) {
      const double half = s.bar_width / 2 * plot.width / (x_hi - x_lo);
      for (const auto& p : pts) {
        cv::rectangle(view, cv::Point2d(p.x - half, p.y), cv::Point2d(p.x + half, plot.height),
                      s.color, cv::FILLED);
      }
      continue;
    }
    if (s.line) draw_line(view, pts, s.color, s.style, s.thickness);
    if (s.markers || pts.size() == 1) {
      for (const auto& p : pts) {
        cv::circle(
            view, cv::Point(static_cast<int>(std::lround(p.x)), static_cast<int>(std::lround(p.y))),
            s.thickness + 2, s.color, cv::FILLED, cv::LINE_AA);
      }
    }
  }

  // Legend, top right inside the plot.
  std::vector<const Series*> entries;
  int legend_w = 0;
  for (const Series& s : panel.series) {
    if (s.label.empty()) continue;
    entries.push_back(&s);
    legend_w = std::max(legend_w, text_size(s.label, 0.42).width);
  }
  if (!entries.empty()) {
    const int row = 18, sample = 30;
    const int w = legend_w + sample + 22, h = static_cast<int>(entries.size()) * row + 8;
    // The corner the data crosses least: top right, bottom right, top left, bottom left.
    const cv::Rect corners[] = {{plot.width - w - 8, 8, w, h},
                                {plot.width - w - 8, plot.height - h - 8, w, h},
                                {8, 8, w, h},
                                {8, plot.height - h - 8, w, h}};
    size_t best = 0, best_hits = SIZE_MAX;
    for (size_t c = 0; c < 4; ++c) {
      size_t hits = 0;
      for (const auto& p : all_points) {
        hits +=
            corners[c].contains(cv::Point(static_cast<int>(p.x), static_cast<int>(p.y))) ? 1 : 0;
      }
      if (hits < best_hits) best = c, best_hits = hits;
    }
    const cv::Rect box = corners[best] + cv::Point(plot.x, plot.y);
    cv::rectangle(canvas, box, kWhite, cv::FILLED);
    cv::rectangle(canvas, box, kGrid, 1);
    for (size_t i = 0; i < entries.size(); ++i) {
      const int y = box.y + 4 + static_cast<int>(i) * row + row / 2;
      if (entries[i]->line || entries[i]->bar_width > 0) {
        draw_line(canvas, {cv::Point2d(box.x + 6, y), cv::Point2d(box.x + 6 + sample, y)},
                  entries[i]->color, entries[i]->style,
                  entries[i]->bar_width > 0 ? 8 : entries[i]->thickness);
      } else {
        cv::circle(canvas, {box.x + 6 + sample / 2, y}, std::max(4, entries[i]->thickness + 2),
                   entries[i]->color, cv::FILLED, cv::LINE_AA);
      }
      put_text(canvas, entries[i]->label, {box.x + sample + 14, y + 5}, 0.42);
    }
  }
}

}  // namespace

cv::Scalar palette(size_t i) {
  // Okabe-Ito colours, BGR.
  static const cv::Scalar colors[] = {{178, 114, 0},   {0, 94, 213},  {115, 158, 0},
                                      {167, 121, 204}, {0, 159, 230}, {233, 180, 86},
                                      {66, 228, 240},  {0, 0, 0}};
  return colors[i % (sizeof(colors) / sizeof(colors[0]))];
}

cv::Scalar class_color(size_t i, size_t n) {
  static const cv::Scalar tab10[] = {
      {180, 119, 31}, {14, 127, 255},  {44, 160, 44},   {40, 39, 214},  {189, 103, 148},
      {75, 86, 140},  {194, 119, 227}, {127, 127, 127}, {34, 189, 188}, {207, 190, 23}};
  if (n <= 10) return tab10[i % 10];
  cv::Mat hsv(1, 1, CV_8UC3,
              cv::Scalar(static_cast<double>(180 * (i % n) / n), 200, i % 2 == 0 ? 220 : 160));
  cv::Mat bgr;
  cv::cvtColor(hsv, bgr, cv::COLOR_HSV2BGR);
  const cv::Vec3b c = bgr.at<cv::Vec3b>(0, 0);
  return {static_cast<double>(c[0]), static_cast<double>(c[1]), static_cast<double>(c[2])};
}

std::vector<double> nice_ticks(double lo, double hi, int max_ticks) {
  if (!(hi > lo) || max_ticks < 2) return {lo};
  const double raw = (hi - lo) / (max_ticks - 1);
  const double mag = std::pow(10.0, std::floor(std::log10(raw)));
  double step = mag;
  for (double m : {1.0, 2.0, 2.5, 5.0, 10.0}) {
    step = m * mag;
    if (step >= raw) break;
  }
  std::vector<double> ticks;
  for (double v = std::ceil(lo / step - 1e-9) * step; v <= hi + step * 1e-9; v += step) {
    ticks.push_back(std::abs(v) < step * 1e-9 ? 0.0 : v);
  }
  return ticks;
}

cv::Mat draw_panels(const std::vector<Panel>& panels, int width, int height) {
  if (panels.empty() || width < 160 || height < 120) {
    throw std::invalid_argument("draw_panels: need at least one panel of at least 160x120 pixels");
  }
  cv::Mat canvas(height, width * static_cast<int>(panels.size()), CV_8UC3, kWhite);
  for (size_t i = 0; i < panels.size(); ++i) {
    draw_panel(canvas, panels[i], cv::Rect(static_cast<int>(i) * width, 0, width, height));
  }
  return canvas;
}

cv::Mat tile_grid(const std::vector<cv::Mat>& tiles, int columns, int gap,
                  const std::vector<std::string>& row_labels,
                  const std::vector<std::string>& column_labels) {
  if (tiles.empty() || columns < 1) throw std::invalid_argument("tile_grid: no tiles");
  const cv::Size cell = tiles[0].size();
  for (const auto& t : tiles) {
    if (t.size() != cell || t.type() != CV_8UC3) {
      throw std::invalid_argument("tile_grid: every tile must be CV_8UC3 of the same size");
    }
  }
  const int rows = static_cast<int>((tiles.size() + columns - 1) / columns);
  const double scale = 0.45;
  int label_w = 0;
  for (const auto& l : row_labels) label_w = std::max(label_w, text_size(l, scale).width + 8);
  const int header_h = column_labels.empty() ? 0 : text_size("Ag", scale).height + 12;
  const int w = label_w + gap + columns * (cell.width + gap);
  const int h = header_h + gap + rows * (cell.height + gap);
  cv::Mat canvas(h, w, CV_8UC3, kWhite);
  for (size_t c = 0; c < column_labels.size() && c < static_cast<size_t>(columns); ++c) {
    const int x0 = label_w + gap + static_cast<int>(c) * (cell.width + gap);
    const cv::Size ts = text_size(column_labels[c], scale);
    put_text(canvas, column_labels[c],
             {x0 + std::max(0, (cell.width - ts.width) / 2), header_h - 6}, scale);
  }
  for (size_t i = 0; i < tiles.size(); ++i) {
    const int r = static_cast<int>(i) / columns, c = static_cast<int>(i) % columns;
    const int x0 = label_w + gap + c * (cell.width + gap);
    const int y0 = header_h + gap + r * (cell.height + gap);
    tiles[i].copyTo(canvas(cv::Rect(x0, y0, cell.width, cell.height)));
  }
  for (size_t r = 0; r < row_labels.size() && r < static_cast<size_t>(rows); ++r) {
    const int y0 = header_h + gap + static_cast<int>(r) * (cell.height + gap);
    const cv::Size ts = text_size(row_labels[r], scale);
    put_text(canvas, row_labels[r], {4, y0 + (cell.height + ts.height) / 2}, scale);
  }
  return canvas;
}

cv::Mat image_tile(const uint8_t* chw, int channels, int height, int width, int cell) {
  if (channels != 1 && channels != 3) throw std::invalid_argument("image_tile: 1 or 3 channels");
  cv::Mat bgr(height, width, CV_8UC3);
  const size_t plane = static_cast<size_t>(height) * static_cast<size_t>(width);
  for (int y = 0; y < height; ++y) {
    auto* row = bgr.ptr<cv::Vec3b>(y);
    for (int x = 0; x < width; ++x) {
      const size_t i = static_cast<size_t>(y) * static_cast<size_t>(width) + static_cast<size_t>(x);
      const uint8_t r = chw[i];
      const uint8_t g = channels == 3 ? chw[plane + i] : r;
      const uint8_t b = channels == 3 ? chw[2 * plane + i] : r;
      row[x] = cv::Vec3b(b, g, r);
    }
  }
  cv::Mat out;
  cv::resize(bgr, out, cv::Size(cell, cell), 0, 0, cv::INTER_NEAREST);
  return out;
}

cv::Mat with_border(const cv::Mat& tile, int px, const cv::Scalar& color) {
  cv::Mat out;
  cv::copyMakeBorder(tile, out, px, px, px, px, cv::BORDER_CONSTANT, color);
  return out;
}

int tile_cell(int side, int min_cell) {
  side = std::max(side, 1);
  return side * std::max(1, (min_cell + side - 1) / side);
}

void write_png(const std::string& path, const cv::Mat& image) {
  std::vector<uchar> png;
  bool ok = false;
  try {
    ok = cv::imencode(".png", image, png);
  } catch (const cv::Exception& e) {
    throw std::runtime_error("cannot encode '" + path + "' as PNG: " + e.what());
  }
  if (!ok) throw std::runtime_error("cannot encode '" + path + "' as PNG");
  write_file_atomic(path, png.data(), png.size());
}

#endif  // RELNET_WITH_IMAGE_IO

}  // namespace relnet
