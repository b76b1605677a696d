// Line charts and image grids drawn with OpenCV, written as PNG: training
// curves, augmentation previews, retrieval neighbours. Pure drawing; the
// callers decide what to show.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#ifdef RELNET_WITH_IMAGE_IO
#include <opencv2/core.hpp>
#endif

namespace relnet {

// True when relnet was built with OpenCV (RELNET_WITH_IMAGE_IO): pictures,
// image folders.
bool image_io_available();

// Throws std::runtime_error saying that `what` needs image I/O when relnet
// was built without it; does nothing otherwise.
void require_image_io(const std::string& what);

#ifdef RELNET_WITH_IMAGE_IO

enum class LineStyle { kSolid, kDashed, kDotted };

struct Series {
  std::string label;  // legend text; empty = not in the legend
  std::vector<double> x, y;
  cv::Scalar color{0, 0, 0};  // BGR
  LineStyle style = LineStyle::kSolid;
  int thickness = 2;
  bool markers = false;  // a dot at every point (also drawn for a single point)
  bool line = true;      // join the points (false: markers only)
  double bar_width = 0;  // > 0: a filled bar per point, this wide in x units,
                         // from the plot's bottom up to y (no line, no markers)
};

struct Panel {
  std::string title;
  std::string x_label;
  std::string y_label;
  std::vector<Series> series;
  std::optional<std::pair<double, double>> y_range;  // fixed y axis (else from the data)
  // Categories instead of a numeric x axis: label i is written under x = i,
  // the axis runs from -0.5 to n - 0.5.
  std::vector<std::string> x_categories = {};
};

// A distinct, colour-blind-friendly colour (BGR) for the i-th series.
cv::Scalar palette(size_t i);

// The colour (BGR) of class i of n in a scatter plot: ten well-separated
// colours (matplotlib's tab10) for up to ten classes, else n hues evenly
// spaced around the colour wheel.
cv::Scalar class_color(size_t i, size_t n);

// "Nice" tick positions (1, 2, 5 x 10^n steps) covering [lo, hi], at most
// about `max_ticks` of them.
std::vector<double> nice_ticks(double lo, double hi, int max_ticks);

// Draws the panels side by side (each `width` x `height` pixels) on a white
// canvas, with axes, ticks, grid, titles and each panel's legend.
cv::Mat draw_panels(const std::vector<Panel>& panels, int width, int height);

// A grid of equally sized BGR tiles (CV_8UC3), `columns` per row, with a
// `gap`-pixel white margin; row_labels (optional, one per row) are written
// left of the rows and column_labels above the columns.
cv::Mat tile_grid(const std::vector<cv::Mat>& tiles, int columns, int gap,
                  const std::vector<std::string>& row_labels = {},
                  const std::vector<std::string>& column_labels = {});

// A BGR tile of `cell` x `cell` pixels from an RGB (or, channels = 1,
// grayscale) image stored channel-major (CHW, uint8): nearest-neighbour
// scaling, so small images stay crisp.
cv::Mat image_tile(const uint8_t* chw, int channels, int height, int width, int cell);

// `tile` framed by a `px`-pixel border of `color` (the result is larger).
cv::Mat with_border(const cv::Mat& tile, int px, const cv::Scalar& color);

// The side of a preview tile for images of side `side`: an integer multiple
// of it at least `min_cell` pixels.
int tile_cell(int side, int min_cell = 80);

// Encodes `image` as PNG and writes it atomically (temporary name + rename).
// Throws std::runtime_error naming the path on failure.
void write_png(const std::string& path, const cv::Mat& image);

#endif  // RELNET_WITH_IMAGE_IO

}  // namespace relnet
