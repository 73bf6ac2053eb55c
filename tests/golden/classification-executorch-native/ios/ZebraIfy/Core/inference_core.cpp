// Shared inference core (see inference_core.h). The same file is compiled by the NDK (Android),
// by Xcode (iOS) and by g++ against the host LibTorch in `scaffold check`; it must stay valid
// C++17 and build against LibTorch-Lite 1.13, pytorch_android_lite 2.1 and the host torch.
#include "inference_core.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <limits>
#include <numeric>
#include <unordered_map>
#include <utility>

#include <ATen/Context.h>
#include <ATen/core/ivalue.h>
#include <c10/core/InferenceMode.h>
#include <torch/csrc/jit/mobile/import.h>
#include <torch/csrc/jit/mobile/module.h>
// from_blob got its own per-operator header in newer releases; the umbrella header is far
// slower to compile, so only fall back to it for runtimes that predate the split.
#if defined(__has_include)
#if __has_include(<ATen/ops/from_blob.h>)
#include <ATen/ops/from_blob.h>
#else
#include <ATen/Functions.h>
#endif
#else
#include <ATen/Functions.h>
#endif

namespace scaffold {
namespace {

constexpr const char* kMetadataKey = "scaffold.json";

// LibTorch messages can run to many lines of C++ context; users need the first one.
std::string firstLine(const std::string& text) {
  const auto end = text.find('\n');
  return end == std::string::npos ? text : text.substr(0, end);
}

// c10::Error appends a C++ backtrace after the message; the first line is the message. (No
// dynamic_cast to c10::Error: its typeinfo is not exported by every prebuilt mobile runtime.)
std::string describe(const std::exception& e) { return firstLine(e.what()); }

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

// Models may return a tuple, a list or a dict (segmentation models use {"out": ...}); apps only
// look at one tensor, so pick the first one depth-first, preferring a dict's "out" entry.
bool findFirstTensor(const c10::IValue& value, at::Tensor& found) {
  if (value.isTensor()) {
    found = value.toTensor();
    return true;
  }
  if (value.isTuple()) {
    for (const auto& element : value.toTuple()->elements()) {
      if (findFirstTensor(element, found)) return true;
    }
    return false;
  }
  if (value.isTensorList()) {
    const auto list = value.toTensorList();
    if (list.size() == 0) return false;
    found = list.get(0);
    return true;
  }
  if (value.isList()) {
    const auto list = value.toList();
    for (size_t i = 0; i < list.size(); ++i) {
      if (findFirstTensor(list.get(i), found)) return true;
    }
    return false;
  }
  if (value.isGenericDict()) {
    const auto dict = value.toGenericDict();
    for (const auto& entry : dict) {
      if (entry.key().isString() && entry.key().toStringRef() == "out" &&
          findFirstTensor(entry.value(), found)) {
        return true;
      }
    }
    for (const auto& entry : dict) {
      if (findFirstTensor(entry.value(), found)) return true;
    }
  }
  return false;
}

// (boxes N x 4, scores N, labels N), a leading batch of 1 allowed, as one N x 6 float tensor;
// false for any other output.
bool packDetections(const c10::IValue& value, at::Tensor& packed) {
  std::vector<at::Tensor> parts;
  if (value.isTuple()) {
    for (const auto& element : value.toTuple()->elements()) {
      if (!element.isTensor()) return false;
      parts.push_back(element.toTensor());
    }
  } else if (value.isTensorList()) {
    const auto list = value.toTensorList();
    for (size_t i = 0; i < list.size(); ++i) parts.push_back(list.get(i));
  }
  if (parts.size() != 3) return false;
  at::Tensor boxes = parts[0], scores = parts[1], labels = parts[2];
  if (boxes.dim() == 3 && scores.dim() == 2 && labels.dim() == 2 && boxes.size(0) == 1) {
    boxes = boxes[0];
    scores = scores[0];
    labels = labels[0];
  }
  if (boxes.dim() != 2 || boxes.size(1) != 4 || scores.dim() != 1 || labels.dim() != 1 ||
      scores.size(0) != boxes.size(0) || labels.size(0) != boxes.size(0)) {
    return false;
  }
  // Tensor methods only (no at::cat): they need no per-operator header on any runtime.
  packed = boxes.to(at::kFloat).new_empty({boxes.size(0), kDetectionRow});
  packed.narrow(1, 0, 4).copy_(boxes);
  packed.select(1, 4).copy_(scores);
  packed.select(1, 5).copy_(labels);
  return true;
}

// Quantized weights are packed for the quantized engine current when the model loads, and
// engines round differently. The phones' runtimes have only QNNPACK; selecting it wherever the
// runtime has it (the host LibTorch has x86 and fbgemm too) makes every build compute what the
// phone computes.
void selectPhoneQuantizedEngine() {
  auto& context = at::globalContext();
  const auto& engines = context.supportedQEngines();
  if (std::find(engines.begin(), engines.end(), at::QEngine::QNNPACK) != engines.end()) {
    context.setQEngine(at::QEngine::QNNPACK);
  }
}

// Which output the apps use, as the generator recorded it in the metadata's "output" object
// ({"index":N} for a tuple or list, {"key":"..."} for a dict). The metadata is compact JSON written
// by the generator, and inside JSON strings every quote is escaped, so the literal `"output":{`
// only occurs as that object's key; the object holds no nested objects.
struct OutputChoice {
  std::string key;
  int64_t index = -1;
};

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

// The chosen output: a dict entry, a tuple/list item, or (older assets without a choice) the first
// tensor found.
at::Tensor chooseTensor(const c10::IValue& output, const OutputChoice& choice) {
  if (!choice.key.empty()) {
    if (!output.isGenericDict()) {
      throw CoreError("the model returned " + output.tagKind() + ", the metadata expects a dict");
    }
    for (const auto& entry : output.toGenericDict()) {
      if (entry.key().isString() && entry.key().toStringRef() == choice.key &&
          entry.value().isTensor()) {
        return entry.value().toTensor();
      }
    }
    throw CoreError("the model's output has no tensor entry '" + choice.key + "'");
  }
  if (choice.index >= 0) {
    const auto i = static_cast<size_t>(choice.index);
    if (output.isTuple() && i < output.toTuple()->elements().size() &&
        output.toTuple()->elements()[i].isTensor()) {
      return output.toTuple()->elements()[i].toTensor();
    }
    if (output.isTensorList() && i < output.toTensorList().size()) {
      return output.toTensorList().get(i);
    }
    if (output.isList() && i < output.toList().size() && output.toList().get(i).isTensor()) {
      return output.toList().get(i).toTensor();
    }
    throw CoreError("the model's output has no tensor at index " + std::to_string(choice.index) +
                    " (got " + output.tagKind() + ")");
  }
  at::Tensor tensor;
  if (packDetections(output, tensor)) return tensor;
  if (!findFirstTensor(output, tensor)) {
    throw CoreError("the model's output contains no tensor (got " + output.tagKind() + ")");
  }
  return tensor;
}

at::Tensor forwardChosenTensor(torch::jit::mobile::Module& module, const at::Tensor& input,
                               const OutputChoice& choice) {
  std::vector<c10::IValue> inputs;
  inputs.emplace_back(input);
  return chooseTensor(module.forward(inputs), choice);
}

}  // namespace

std::vector<float> rgbaToChw(const uint8_t* rgba, int width, int height, const float mean[3],
                             const float std[3]) {
  const size_t plane = pixelCount(width, height);
  checkNormalization(mean, std);
  if (rgba == nullptr) throw std::invalid_argument("rgba must not be null");
  std::vector<float> chw(plane * 3);
  for (size_t i = 0; i < plane; ++i) {
    for (int c = 0; c < 3; ++c) {
      // Three separate float operations, exactly as ToTensor (div) then Normalize (sub, div);
      // keeping them as separate statements stops compilers from fusing or reassociating them.
      const float unit = static_cast<float>(rgba[i * 4 + c]) / 255.0f;
      const float centered = unit - mean[c];
      chw[c * plane + i] = centered / std[c];
    }
  }
  return chw;
}

std::vector<uint8_t> chwToRgba(const float* chw, int width, int height, const float mean[3],
                               const float std[3]) {
  const size_t plane = pixelCount(width, height);
  checkNormalization(mean, std);
  if (chw == nullptr) throw std::invalid_argument("chw must not be null");
  std::vector<uint8_t> rgba(plane * 4);
  for (size_t i = 0; i < plane; ++i) {
    for (int c = 0; c < 3; ++c) {
      // Every multiply and add is its own statement so clang on arm64 (-ffp-contract=on) cannot
      // fuse them into an FMA: the Java and numpy references round after each operation.
      const float scaled = chw[c * plane + i] * std[c];
      float unit = scaled + mean[c];
      if (!(unit >= 0.0f)) unit = 0.0f;  // also maps NaN to 0
      if (unit > 1.0f) unit = 1.0f;
      const float levels = unit * 255.0f;
      const float rounded = std::floor(levels + 0.5f);
      rgba[i * 4 + c] = static_cast<uint8_t>(rounded);
    }
    rgba[i * 4 + 3] = 255;
  }
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

struct InferenceCore::Impl {
  torch::jit::mobile::Module module;
  std::string metadata;
  OutputChoice choice;
  // Read by usesGpu() without the run lock, e.g. from a UI thread.
  std::atomic<bool> gpu{false};
};

InferenceCore::InferenceCore(const std::string& modelPath) : impl_(new Impl()) {
  {
    // _load_for_mobile's own message for a missing file names neither the file nor the cause.
    std::ifstream probe(modelPath, std::ios::binary);
    if (!probe) throw CoreError("cannot open model file '" + modelPath + "'");
  }
  std::unordered_map<std::string, std::string> extraFiles{{kMetadataKey, ""}};
  try {
    selectPhoneQuantizedEngine();
    impl_->module = torch::jit::_load_for_mobile(modelPath, c10::nullopt, extraFiles);
  } catch (const std::exception& e) {
    throw CoreError("cannot load model '" + modelPath + "': " + describe(e));
  }
  impl_->metadata = extraFiles[kMetadataKey];
  impl_->choice = parseOutputChoice(impl_->metadata);
#if defined(SCAFFOLD_USE_METAL)
  impl_->gpu = true;
#endif
}

InferenceCore::~InferenceCore() = default;

std::vector<float> InferenceCore::run(const std::vector<float>& input,
                                      const std::vector<int64_t>& shape,
                                      std::vector<int64_t>& outputShape) {
  if (shape.empty()) throw std::invalid_argument("input shape must have at least one dimension");
  size_t expected = 1;
  for (const int64_t dim : shape) {
    if (dim <= 0) throw std::invalid_argument("input shape dimensions must be positive");
    if (expected > std::numeric_limits<size_t>::max() / static_cast<size_t>(dim)) {
      throw std::invalid_argument("input shape is too large");
    }
    expected *= static_cast<size_t>(dim);
  }
  if (expected != input.size()) {
    throw std::invalid_argument("input has " + std::to_string(input.size()) +
                                " values but its shape needs " + std::to_string(expected));
  }

  std::lock_guard<std::mutex> lock(mutex_);
  try {
    c10::InferenceMode guard;
    // Copy the caller's buffer: a model may modify its input in place (relu_ and friends).
    const at::Tensor tensor =
        at::from_blob(const_cast<float*>(input.data()), shape, at::TensorOptions(at::kFloat))
            .clone();
    at::Tensor output;
#if defined(SCAFFOLD_USE_METAL)
    if (impl_->gpu) {
      try {
        output = forwardChosenTensor(impl_->module, tensor.to(at::kMetal), impl_->choice).cpu();
      } catch (const std::exception&) {
        // Many operators have no Metal kernel (and a model not exported for Metal may use them):
        // stay on the CPU from now on instead of failing every frame.
        impl_->gpu = false;
        output = at::Tensor();
      }
    }
#endif
    if (!output.defined()) output = forwardChosenTensor(impl_->module, tensor, impl_->choice);
    output = output.to(at::kFloat).contiguous();

    outputShape.assign(output.sizes().begin(), output.sizes().end());
    const float* data = output.data_ptr<float>();
    return std::vector<float>(data, data + output.numel());
  } catch (const CoreError&) {
    throw;
  } catch (const std::exception& e) {
    throw CoreError("inference failed: " + describe(e));
  }
}

const std::string& InferenceCore::metadata() const { return impl_->metadata; }

bool InferenceCore::usesGpu() const { return impl_->gpu; }

}  // namespace scaffold
