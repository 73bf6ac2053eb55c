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
  return runValues(input.data(), input.size(), InputType::Float32, shape, outputShape);
}

std::vector<float> InferenceCore::runInt64(const std::vector<int64_t>& input,
                                           const std::vector<int64_t>& shape,
                                           std::vector<int64_t>& outputShape) {
  return runValues(input.data(), input.size(), InputType::Int64, shape, outputShape);
}

std::vector<float> InferenceCore::runValues(const void* input, size_t count, InputType type,
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
  if (expected != count) {
    throw std::invalid_argument("input has " + std::to_string(count) +
                                " values but its shape needs " + std::to_string(expected));
  }

  std::lock_guard<std::mutex> lock(mutex_);
  try {
    c10::InferenceMode guard;
    const auto dtype = type == InputType::Int64 ? at::kLong : at::kFloat;
    // Copy the caller's buffer: a model may modify its input in place (relu_ and friends).
    const at::Tensor tensor =
        at::from_blob(const_cast<void*>(input), shape, at::TensorOptions(dtype)).clone();
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
