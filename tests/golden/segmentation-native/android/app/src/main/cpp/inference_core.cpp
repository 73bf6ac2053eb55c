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
