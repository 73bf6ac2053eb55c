// Runtime-neutral pixel and output helpers (see image_ops.h). Plain C++17 without runtime
// headers: the inference core of every runtime ships this same file, and the generator checks
// it against torchvision, numpy and the Java ImageTensors on the host.
#include "image_ops.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <cstdlib>
#include <limits>
#include <numeric>
#include <stdexcept>
#include <string>

namespace scaffold {
namespace {

size_t pixelCount(int width, int height) {
  if (width <= 0 || height <= 0) {
    throw std::invalid_argument("image size must be positive, got " + std::to_string(width) +
                                "x" + std::to_string(height));
  }
  return static_cast<size_t>(width) * static_cast<size_t>(height);
}

void checkNormalization(const float mean[3], const float std[3]) {
  if (mean == nullptr || std == nullptr) {
    throw std::invalid_argument("mean and std must not be null");
  }
  for (int c = 0; c < 3; ++c) {
    // A zero std would silently turn every pixel into inf/NaN; reject it where it is made.
    if (!std::isfinite(mean[c]) || !std::isfinite(std[c]) || std[c] == 0.0f) {
      throw std::invalid_argument("mean and std must be finite and std non-zero");
    }
  }
}

}  // namespace

// ((v / 255) - mean) / std for every byte value v: a channel has only 256 inputs, so the per-pixel
// work becomes a lookup. Three separate float operations, exactly as ToTensor (div) then Normalize
// (sub, div); keeping them as separate statements stops compilers from fusing or reassociating
// them, so each entry has the bits the per-pixel expression had.
static void normalizedLevels(float mean, float std, float table[256]) {
  for (int v = 0; v < 256; ++v) {
    const float unit = static_cast<float>(v) / 255.0f;
    const float centered = unit - mean;
    table[v] = centered / std;
  }
}

std::vector<float> rgbaToChw(const uint8_t* rgba, int width, int height, const float mean[3],
                             const float std[3]) {
  const size_t plane = pixelCount(width, height);
  checkNormalization(mean, std);
  if (rgba == nullptr) throw std::invalid_argument("rgba must not be null");
  float red[256], green[256], blue[256];
  normalizedLevels(mean[0], std[0], red);
  normalizedLevels(mean[1], std[1], green);
  normalizedLevels(mean[2], std[2], blue);
  std::vector<float> chw(plane * 3);
  float* r = chw.data();
  float* g = r + plane;
  float* b = g + plane;
  for (size_t i = 0; i < plane; ++i) {
    r[i] = red[rgba[i * 4]];
    g[i] = green[rgba[i * 4 + 1]];
    b[i] = blue[rgba[i * 4 + 2]];
  }
  return chw;
}

// Android's and Apple's targets are all little-endian: the bytes R, G, B, A of a pixel are the
// uint32_t R | G << 8 | B << 16 | A << 24, which chwToRgba assembles in registers.
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "image_ops.cpp writes RGBA pixels as little-endian uint32_t"
#endif

// One channel of chwToRgba: x -> floor(clamp(x * std + mean, 0, 1) * 255 + 0.5), NaN -> 0.
// Every multiply and add is its own statement so clang on arm64 (-ffp-contract=on) cannot fuse
// them into an FMA: the Java and numpy references round after each operation. The clamp works on
// the float's bits with shifts, ANDs and subtractions only, so compilers vectorize it even where
// the target has no 32-bit integer min/max (x86-64's SSE2 baseline) and a float compare cannot
// be if-converted (the default -ftrapping-math). Bits order like values for non-negative floats:
// the first AND sends negatives, -0 and negative NaNs to +0; adding 0x7FFFFF carries exactly the
// positive NaNs (bits above 0x7F800000) into the sign bit, so the second AND sends them to +0
// too; below the bits of 1.0f the difference to them is negative and added back, otherwise it is
// dropped, which clamps the top. The conversion truncates instead of calling std::floor: shifted
// lies in [0.5, 255.5], where the two agree and the cast is defined.
static inline uint32_t unitToLevel(float x, float std, float mean) {
  const float scaled = x * std;
  const float unit = scaled + mean;
  uint32_t bits;
  std::memcpy(&bits, &unit, sizeof bits);
  const uint32_t positive = bits & ((bits >> 31) - 1u);
  const uint32_t number = positive & (((positive + 0x7FFFFFu) >> 31) - 1u);
  const uint32_t below = number - 0x3F800000u;
  const uint32_t clampedBits = 0x3F800000u + (below & (0u - (below >> 31)));
  float clamped;
  std::memcpy(&clamped, &clampedBits, sizeof clamped);
  const float levels = clamped * 255.0f;
  const float shifted = levels + 0.5f;
  return static_cast<uint32_t>(static_cast<int32_t>(shifted));
}

std::vector<uint8_t> chwToRgba(const float* chw, int width, int height, const float mean[3],
                               const float std[3]) {
  const size_t plane = pixelCount(width, height);
  checkNormalization(mean, std);
  if (chw == nullptr) throw std::invalid_argument("chw must not be null");
  std::vector<uint8_t> rgba(plane * 4);
  const float* r = chw;
  const float* g = r + plane;
  const float* b = g + plane;
  const float mr = mean[0], mg = mean[1], mb = mean[2], sr = std[0], sg = std[1], sb = std[2];
  const auto pixel = [&](size_t k) {
    return unitToLevel(r[k], sr, mr) | unitToLevel(g[k], sg, mg) << 8 | unitToLevel(b[k], sb, mb) << 16 |
           0xFF000000u;
  };
  // Blocks of a constant number of pixels packed into a local array, then copied out: GCC's -O2
  // (its "very cheap" vectorizer) vectorizes only loops whose trip count it knows and that need
  // no byte-wise interleaving (clang, which builds the apps, is not available here to measure).
  // The tail takes the same path.
  constexpr size_t kBlock = 64;
  uint32_t pixels[kBlock];
  size_t i = 0;
  for (; i + kBlock <= plane; i += kBlock) {
    for (size_t j = 0; j < kBlock; ++j) pixels[j] = pixel(i + j);
    std::memcpy(rgba.data() + i * 4, pixels, sizeof pixels);
  }
  for (size_t j = 0; i + j < plane; ++j) pixels[j] = pixel(i + j);
  std::memcpy(rgba.data() + i * 4, pixels, (plane - i) * sizeof pixels[0]);
  return rgba;
}

std::vector<float> softmax(const std::vector<float>& logits) {
  if (logits.empty()) throw std::invalid_argument("logits must not be empty");
  float maximum = -std::numeric_limits<float>::infinity();
  for (const float x : logits) {
    if (std::isnan(x)) return std::vector<float>(logits.size(), std::nanf(""));
    maximum = std::max(maximum, x);
  }
  std::vector<double> exps(logits.size());
  double sum = 0.0;
  for (size_t i = 0; i < logits.size(); ++i) {
    // Subtracting the maximum keeps exp() finite for large logits.
    exps[i] = std::exp(static_cast<double>(logits[i]) - static_cast<double>(maximum));
    sum += exps[i];
  }
  std::vector<float> probabilities(logits.size());
  for (size_t i = 0; i < logits.size(); ++i) {
    probabilities[i] = static_cast<float>(exps[i] / sum);
  }
  return probabilities;
}

std::vector<int> topK(const std::vector<float>& values, int k) {
  if (k < 0) throw std::invalid_argument("k must not be negative");
  std::vector<int> order(values.size());
  std::iota(order.begin(), order.end(), 0);
  const size_t count = std::min(values.size(), static_cast<size_t>(k));
  // NaN compares as the smallest value so a broken logit never ranks first.
  auto larger = [&values](int a, int b) {
    const float va = values[a];
    const float vb = values[b];
    const bool nanA = std::isnan(va);
    const bool nanB = std::isnan(vb);
    if (nanA != nanB) return nanB;
    if (!nanA && va != vb) return va > vb;
    return a < b;
  };
  std::partial_sort(order.begin(), order.begin() + static_cast<std::ptrdiff_t>(count), order.end(),
                    larger);
  order.resize(count);
  return order;
}

std::vector<int32_t> argmaxChannels(const float* chw, int channels, int width, int height) {
  const size_t plane = pixelCount(width, height);
  if (channels <= 0) throw std::invalid_argument("channels must be positive");
  if (chw == nullptr) throw std::invalid_argument("chw must not be null");
  std::vector<int32_t> classes(plane, 0);
  for (size_t i = 0; i < plane; ++i) {
    float best = chw[i];
    for (int c = 1; c < channels; ++c) {
      const float v = chw[static_cast<size_t>(c) * plane + i];
      if (v > best || (std::isnan(best) && !std::isnan(v))) {
        best = v;
        classes[i] = c;
      }
    }
  }
  return classes;
}

std::vector<float> rgbaToYcbcr(const uint8_t* rgba, int width, int height) {
  const size_t plane = pixelCount(width, height);
  if (rgba == nullptr) throw std::invalid_argument("rgba must not be null");
  std::vector<float> out(plane * 3);
  for (size_t i = 0; i < plane; ++i) {
    const float r = rgba[i * 4];
    const float g = rgba[i * 4 + 1];
    const float b = rgba[i * 4 + 2];
    // One operation per statement: no FMA contraction, so the sums round as in Java and numpy.
    float y = 0.299f * r;
    const float yg = 0.587f * g;
    y = y + yg;
    const float yb = 0.114f * b;
    y = y + yb;
    const float cbr = 0.168736f * r;
    float cb = 128.0f - cbr;
    const float cbg = 0.331264f * g;
    cb = cb - cbg;
    const float cbb = 0.5f * b;
    cb = cb + cbb;
    const float crr = 0.5f * r;
    float cr = 128.0f + crr;
    const float crg = 0.418688f * g;
    cr = cr - crg;
    const float crb = 0.081312f * b;
    cr = cr - crb;
    out[i] = y;
    out[plane + i] = cb;
    out[2 * plane + i] = cr;
  }
  return out;
}

std::vector<float> rgbaToY(const uint8_t* rgba, int width, int height, float mean, float std) {
  if (!std::isfinite(mean) || !std::isfinite(std) || std == 0.0f) {
    throw std::invalid_argument("mean and std must be finite and std non-zero");
  }
  const size_t plane = pixelCount(width, height);
  std::vector<float> ycbcr = rgbaToYcbcr(rgba, width, height);
  ycbcr.resize(plane);
  for (float& v : ycbcr) {
    const float unit = v / 255.0f;
    const float centered = unit - mean;
    v = centered / std;
  }
  return ycbcr;
}

namespace {

struct Axis {
  std::vector<size_t> lo, hi;
  std::vector<float> frac;
};

Axis bilinearAxis(int in, int out) {
  Axis axis;
  const float scale = static_cast<float>(in) / static_cast<float>(out);
  for (int d = 0; d < out; ++d) {
    const float center = static_cast<float>(d) + 0.5f;
    const float scaled = center * scale;
    float src = scaled - 0.5f;
    if (src < 0.0f) src = 0.0f;
    const size_t lo = static_cast<size_t>(src);
    axis.lo.push_back(lo);
    axis.hi.push_back(std::min(lo + 1, static_cast<size_t>(in - 1)));
    axis.frac.push_back(src - static_cast<float>(lo));
  }
  return axis;
}

// a * wa + b * wb as two rounded products and one rounded sum.
float blend(float a, float wa, float b, float wb) {
  const float pa = a * wa;
  const float pb = b * wb;
  return pa + pb;
}

uint8_t level(float v) {
  if (!(v >= 0.0f)) v = 0.0f;  // also maps NaN to 0
  if (v > 255.0f) v = 255.0f;
  return static_cast<uint8_t>(std::floor(v + 0.5f));
}

}  // namespace

std::vector<float> resizeBilinear(const float* plane, int inWidth, int inHeight, int outWidth,
                                  int outHeight) {
  pixelCount(inWidth, inHeight);
  const size_t outPlane = pixelCount(outWidth, outHeight);
  if (plane == nullptr) throw std::invalid_argument("plane must not be null");
  const Axis xs = bilinearAxis(inWidth, outWidth);
  const Axis ys = bilinearAxis(inHeight, outHeight);
  const size_t stride = static_cast<size_t>(inWidth);
  std::vector<float> out(outPlane);
  for (int y = 0; y < outHeight; ++y) {
    const float* top = plane + ys.lo[y] * stride;
    const float* bottom = plane + ys.hi[y] * stride;
    const float ly = ys.frac[y];
    const float hy = 1.0f - ly;
    for (int x = 0; x < outWidth; ++x) {
      const float lx = xs.frac[x];
      const float hx = 1.0f - lx;
      const float t = blend(top[xs.lo[x]], hx, top[xs.hi[x]], lx);
      const float b = blend(bottom[xs.lo[x]], hx, bottom[xs.hi[x]], lx);
      out[static_cast<size_t>(y) * outWidth + x] = blend(t, hy, b, ly);
    }
  }
  return out;
}

std::vector<uint8_t> yToRgba(const float* y, int outWidth, int outHeight, float mean, float std,
                             const uint8_t* inputRgba, int inWidth, int inHeight) {
  const size_t outPlane = pixelCount(outWidth, outHeight);
  const size_t inPlane = pixelCount(inWidth, inHeight);
  if (y == nullptr) throw std::invalid_argument("y must not be null");
  const std::vector<float> ycbcr = rgbaToYcbcr(inputRgba, inWidth, inHeight);
  const std::vector<float> cb =
      resizeBilinear(ycbcr.data() + inPlane, inWidth, inHeight, outWidth, outHeight);
  const std::vector<float> cr =
      resizeBilinear(ycbcr.data() + 2 * inPlane, inWidth, inHeight, outWidth, outHeight);
  std::vector<uint8_t> rgba(outPlane * 4);
  for (size_t i = 0; i < outPlane; ++i) {
    const float scaled = y[i] * std;
    float unit = scaled + mean;
    if (!(unit >= 0.0f)) unit = 0.0f;  // also maps NaN to 0
    if (unit > 1.0f) unit = 1.0f;
    const float luma = unit * 255.0f;
    const float cbc = cb[i] - 128.0f;
    const float crc = cr[i] - 128.0f;
    const float rOffset = 1.402f * crc;
    const float gFromCb = 0.344136f * cbc;
    const float gFromCr = 0.714136f * crc;
    const float bOffset = 1.772f * cbc;
    const float g1 = luma - gFromCb;
    rgba[i * 4] = level(luma + rOffset);
    rgba[i * 4 + 1] = level(g1 - gFromCr);
    rgba[i * 4 + 2] = level(luma + bOffset);
    rgba[i * 4 + 3] = 255;
  }
  return rgba;
}

namespace {

// The logistic function in double, rounded once to float (as the Java Detections.sigmoid).
float sigmoid(float x) {
  const double e = std::exp(-static_cast<double>(x));
  return static_cast<float>(1.0 / (1.0 + e));
}

void checkInputSize(int width, int height) {
  if (width <= 0 || height <= 0) throw std::invalid_argument("input size must be positive");
}

void scaleBoxes(std::vector<float>& rows, int width, int height) {
  const float w = static_cast<float>(width);
  const float h = static_cast<float>(height);
  for (size_t o = 0; o + kDetectionRow <= rows.size(); o += kDetectionRow) {
    rows[o] *= w;
    rows[o + 1] *= h;
    rows[o + 2] *= w;
    rows[o + 3] *= h;
  }
}

}  // namespace

std::vector<float> decodeYolo(const float* raw, size_t count, int classes, bool normalized,
                              bool logits, int width, int height) {
  if (classes < 1) throw std::invalid_argument("classes must be >= 1");
  const size_t cols = static_cast<size_t>(5 + classes);
  if (count % cols != 0) {
    throw std::invalid_argument("raw output is not a whole number of rows of " +
                                std::to_string(cols));
  }
  checkInputSize(width, height);
  if (raw == nullptr && count > 0) throw std::invalid_argument("raw must not be null");
  const size_t n = count / cols;
  std::vector<float> out(n * kDetectionRow);
  for (size_t i = 0; i < n; ++i) {
    const float* row = raw + i * cols;
    float* o = out.data() + i * kDetectionRow;
    const float halfW = 0.5f * row[2];
    const float halfH = 0.5f * row[3];
    o[0] = row[0] - halfW;
    o[1] = row[1] - halfH;
    o[2] = row[0] + halfW;
    o[3] = row[1] + halfH;
    const float objectness = logits ? sigmoid(row[4]) : row[4];
    int label = 0;
    float best = logits ? sigmoid(row[5]) : row[5];
    for (int c = 1; c < classes; ++c) {
      const float v = logits ? sigmoid(row[5 + c]) : row[5 + c];
      if (v > best) {
        best = v;
        label = c;
      }
    }
    o[4] = objectness * best;
    o[5] = static_cast<float>(label);
  }
  if (normalized) scaleBoxes(out, width, height);
  return out;
}

std::vector<float> decodeBoxes(const float* packed, size_t count, bool normalized, int width,
                               int height) {
  if (count % kDetectionRow != 0) throw std::invalid_argument("packed boxes need rows of 6");
  checkInputSize(width, height);
  if (packed == nullptr && count > 0) throw std::invalid_argument("packed must not be null");
  std::vector<float> out(packed, packed + count);
  if (normalized) scaleBoxes(out, width, height);
  return out;
}

std::vector<int> selectDetections(const std::vector<float>& decoded, float scoreThreshold,
                                  double iouThreshold, int maxDetections) {
  if (decoded.size() % kDetectionRow != 0) {
    throw std::invalid_argument("decoded boxes need rows of 6");
  }
  if (!(scoreThreshold >= 0.0f && scoreThreshold <= 1.0f) ||
      !(iouThreshold >= 0.0 && iouThreshold <= 1.0) || maxDetections < 0) {
    throw std::invalid_argument("thresholds must be in [0, 1] and maxDetections >= 0");
  }
  const float* d = decoded.data();
  std::vector<int> order;
  for (size_t i = 0; i < decoded.size() / kDetectionRow; ++i) {
    if (d[i * kDetectionRow + 4] >= scoreThreshold) order.push_back(static_cast<int>(i));
  }
  std::stable_sort(order.begin(), order.end(), [d](int a, int b) {
    return d[a * kDetectionRow + 4] > d[b * kDetectionRow + 4];
  });
  std::vector<float> areas(order.size());
  for (size_t k = 0; k < order.size(); ++k) {
    const float* box = d + order[k] * kDetectionRow;
    const float w = box[2] - box[0];
    const float h = box[3] - box[1];
    areas[k] = w * h;
  }
  std::vector<bool> suppressed(order.size(), false);
  std::vector<int> keep;
  for (size_t k = 0; k < order.size() && keep.size() < static_cast<size_t>(maxDetections); ++k) {
    if (suppressed[k]) continue;
    keep.push_back(order[k]);
    const float* a = d + order[k] * kDetectionRow;
    for (size_t m = k + 1; m < order.size(); ++m) {
      if (suppressed[m]) continue;
      const float* b = d + order[m] * kDetectionRow;
      const float w = std::max(0.0f, std::min(a[2], b[2]) - std::max(a[0], b[0]));
      const float h = std::max(0.0f, std::min(a[3], b[3]) - std::max(a[1], b[1]));
      const float inter = w * h;
      const float sum = areas[k] + areas[m];
      const float overlap = inter / (sum - inter);
      if (overlap > iouThreshold) suppressed[m] = true;
    }
  }
  return keep;
}

OutputChoice parseOutputChoice(const std::string& json) {
  OutputChoice choice;
  const std::string open = "\"output\":{";
  const auto start = json.find(open);
  if (start == std::string::npos) return choice;
  const auto end = json.find('}', start + open.size());
  const size_t from = start + open.size();
  const std::string object =
      json.substr(from, end == std::string::npos ? std::string::npos : end - from);
  const std::string indexField = "\"index\":";
  const auto at = object.find(indexField);
  if (at != std::string::npos) {
    choice.index = std::strtoll(object.c_str() + at + indexField.size(), nullptr, 10);
  }
  const std::string keyField = "\"key\":\"";
  const auto k = object.find(keyField);
  if (k != std::string::npos) {
    for (size_t i = k + keyField.size(); i < object.size() && object[i] != '"'; ++i) {
      // The generator writes JSON with ensure_ascii off, so a key's escapes are \" and \\ (and
      // control characters, which dict keys of real models do not contain).
      if (object[i] == '\\' && i + 1 < object.size()) ++i;
      choice.key.push_back(object[i]);
    }
  }
  return choice;
}

}  // namespace scaffold
