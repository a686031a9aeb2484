//===- Plot.cpp - a PNG of the training curves ----------------------------===//
//
// A small raster plotter: two panels with frames, polylines, a 3x5 pixel font
// for titles and axis ranges, written as an 8-bit RGB PNG through zlib.
//
//===----------------------------------------------------------------------===//

#include "moert/Plot.h"

#include <zlib.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>

namespace moert {

namespace {

using Color = std::array<uint8_t, 3>;

const Color black = {0, 0, 0}, grey = {200, 200, 200};
const Color palette[] = {{31, 119, 180},  {255, 127, 14},  {44, 160, 44},
                         {214, 39, 40},   {148, 103, 189}, {140, 86, 75},
                         {227, 119, 194}, {127, 127, 127}};

/// 3x5 glyphs, rows top to bottom, 3 bits a row (bit 2 is the left pixel).
uint16_t glyph(char c) {
  static const char *chars = "0123456789.-+eABCDEFGHIKLMNOPRSTUVWXYZ:/(), ";
  static const uint16_t bits[] = {
      0x7B6F, 0x2C97, 0x73E7, 0x73CF, 0x5BC9, 0x79CF, 0x79EF, 0x7249, 0x7BEF,
      0x7BCF, 0x0002, 0x01C0, 0x05D0, 0x0F77, 0x2BED, 0x6BAE, 0x3923, 0x6B6E,
      0x79A7, 0x79A4, 0x396B, 0x5BED, 0x7497, 0x5BAD, 0x4927, 0x5FED, 0x6B6D,
      0x2B6A, 0x6BA4, 0x6BAD, 0x388E, 0x7492, 0x5B6F, 0x5B6A, 0x5BFD, 0x5AAD,
      0x5A92, 0x72A7, 0x0410, 0x12A4, 0x2922, 0x224A, 0x0014, 0x0000};
  const char *at = std::strchr(chars, c);
  return at && c ? bits[at - chars] : 0;
}

class Canvas {
public:
  Canvas(int width, int height)
      : width(width), height(height), pixels(width * height, {255, 255, 255}) {}

  void set(int x, int y, Color c) {
    if (x >= 0 && y >= 0 && x < width && y < height)
      pixels[y * width + x] = c;
  }
  void line(int x0, int y0, int x1, int y1, Color c) {
    int dx = std::abs(x1 - x0), dy = -std::abs(y1 - y0);
    int sx = x0 < x1 ? 1 : -1, sy = y0 < y1 ? 1 : -1, error = dx + dy;
    while (true) {
      set(x0, y0, c);
      set(x0, y0 + 1, c); // two pixels thick
      if (x0 == x1 && y0 == y1)
        return;
      int twice = 2 * error;
      if (twice >= dy) {
        error += dy;
        x0 += sx;
      }
      if (twice <= dx) {
        error += dx;
        y0 += sy;
      }
    }
  }
  void text(int x, int y, const std::string &s, Color c, int scale = 2) {
    for (char ch : s) {
      // Lower case is drawn in capitals, except the exponent's 'e'.
      uint16_t bits =
          glyph(ch == 'e' ? ch : static_cast<char>(std::toupper(ch)));
      for (int row = 0; row < 5; ++row)
        for (int col = 0; col < 3; ++col)
          if (bits >> (14 - row * 3 - col) & 1)
            for (int i = 0; i < scale; ++i)
              for (int j = 0; j < scale; ++j)
                set(x + col * scale + i, y + row * scale + j, c);
      x += 4 * scale;
    }
  }
  Status writePng(const std::string &path) const;

private:
  int width, height;
  std::vector<Color> pixels;
};

void bigEndian(std::string &out, uint32_t value) {
  for (int shift = 24; shift >= 0; shift -= 8)
    out.push_back(static_cast<char>(value >> shift));
}

void chunk(std::string &out, const char *type, const std::string &data) {
  bigEndian(out, data.size());
  std::string body = type + data;
  out += body;
  bigEndian(
      out, crc32(0, reinterpret_cast<const Bytef *>(body.data()), body.size()));
}

Status Canvas::writePng(const std::string &path) const {
  std::string raw;
  for (int y = 0; y < height; ++y) {
    raw.push_back(0); // no filter
    for (int x = 0; x < width; ++x)
      raw.append(reinterpret_cast<const char *>(pixels[y * width + x].data()),
                 3);
  }
  uLongf size = compressBound(raw.size());
  std::string packed(size, '\0');
  if (compress2(reinterpret_cast<Bytef *>(packed.data()), &size,
                reinterpret_cast<const Bytef *>(raw.data()), raw.size(),
                6) != Z_OK)
    return Status::error(path + ": cannot compress the image");
  packed.resize(size);
  std::string png = "\x89PNG\r\n\x1a\n";
  std::string header;
  bigEndian(header, width);
  bigEndian(header, height);
  header += std::string("\x08\x02\x00\x00\x00", 5); // 8-bit RGB
  chunk(png, "IHDR", header);
  chunk(png, "IDAT", packed);
  chunk(png, "IEND", "");
  std::ofstream file(path, std::ios::binary | std::ios::trunc);
  file.write(png.data(), png.size());
  if (!file.flush())
    return Status::error(path + ": cannot write");
  return Status();
}

std::string number(double value) {
  char text[32];
  std::snprintf(text, sizeof(text), "%.3g", value);
  return text;
}

/// One panel: a frame at (x, y, w, h), a title, the axis ranges and series of
/// (step, value) points.
struct Panel {
  int x, y, w, h;
  double xMin, xMax, yMin, yMax;

  int px(double v) const {
    return x + static_cast<int>((v - xMin) / (xMax - xMin) * (w - 1));
  }
  int py(double v) const {
    return y + h - 1 - static_cast<int>((v - yMin) / (yMax - yMin) * (h - 1));
  }
  void frame(Canvas &c, const std::string &title) const {
    for (int i = 1; i < 5; ++i)
      c.line(x, y + i * h / 5, x + w - 1, y + i * h / 5, grey);
    c.line(x, y, x + w - 1, y, black);
    c.line(x, y + h - 1, x + w - 1, y + h - 1, black);
    c.line(x, y, x, y + h - 1, black);
    c.line(x + w - 1, y, x + w - 1, y + h - 1, black);
    c.text(x, y - 16, title, black);
    c.text(x - 70, y, number(yMax), black);
    c.text(x - 70, y + h - 10, number(yMin), black);
    c.text(x, y + h + 6, number(xMin), black);
    std::string last = number(xMax);
    c.text(x + w - 8 * static_cast<int>(last.size()), y + h + 6, last, black);
  }
  void series(Canvas &c, const std::vector<std::pair<double, double>> &points,
              Color color) const {
    for (size_t i = 1; i < points.size(); ++i)
      c.line(px(points[i - 1].first), py(points[i - 1].second),
             px(points[i].first), py(points[i].second), color);
    if (points.size() == 1)
      c.line(px(points[0].first) - 2, py(points[0].second),
             px(points[0].first) + 2, py(points[0].second), color);
  }
};

} // namespace

Status writeTrainingPlot(const std::string &path,
                         const std::vector<StepRecord> &history,
                         const std::vector<std::pair<int64_t, double>> &valid) {
  if (history.empty())
    return Status::error(path + ": no logged step to plot");
  Canvas canvas(900, 640);
  double first = static_cast<double>(history.front().step);
  double last = std::max(first + 1, static_cast<double>(history.back().step));

  std::vector<std::pair<double, double>> train, validation;
  double low = 1e30, high = -1e30;
  for (const StepRecord &r : history) {
    train.emplace_back(r.step, r.lmLoss);
    low = std::min(low, r.lmLoss);
    high = std::max(high, r.lmLoss);
  }
  for (auto [step, loss] : valid) {
    validation.emplace_back(step, loss);
    low = std::min(low, loss);
    high = std::max(high, loss);
  }
  if (high <= low)
    high = low + 1;
  Panel loss{90, 40, 780, 240, first, last, low, high};
  loss.frame(canvas, "LM LOSS: TRAIN (BLUE), VALIDATION (RED)  VS STEP");
  loss.series(canvas, train, palette[0]);
  loss.series(canvas, validation, palette[3]);

  // Each expert's share of the tokens routed in the interval, all layers.
  size_t experts = 0;
  for (const auto &[layer, counts] : history.front().tokensPerExpert)
    experts = std::max(experts, counts.size());
  std::vector<std::vector<std::pair<double, double>>> shares(experts);
  double shareHigh = 0;
  for (const StepRecord &r : history) {
    std::vector<double> perExpert(experts, 0.0);
    double total = 0;
    for (const auto &[layer, counts] : r.tokensPerExpert)
      for (size_t e = 0; e < counts.size() && e < experts; ++e) {
        perExpert[e] += counts[e];
        total += counts[e];
      }
    for (size_t e = 0; e < experts && total > 0; ++e) {
      shares[e].emplace_back(r.step, perExpert[e] / total);
      shareHigh = std::max(shareHigh, perExpert[e] / total);
    }
  }
  Panel load{90, 360, 780, 240, first, last, 0.0, std::max(shareHigh, 1e-3)};
  load.frame(canvas, "EXPERT LOAD: SHARE OF ROUTED TOKENS PER EXPERT VS STEP");
  for (size_t e = 0; e < experts; ++e)
    load.series(canvas, shares[e], palette[e % 8]);
  return canvas.writePng(path);
}

} // namespace moert
