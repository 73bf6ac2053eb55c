// Shared inference core: the same bytes ship in the Android native variant and the iOS app, and
// the generator compiles them against the host LibTorch to prove they reproduce Python's numbers.
// Keep this header free of torch includes: Swift/Objective-C and JNI glue include it, and only
// inference_core.cpp should pay for the LibTorch headers.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <vector>

namespace scaffold {

// Every failure of the core surfaces as this type (or std::invalid_argument for bad arguments),
// so the glue layers can map it to their own error type without seeing LibTorch's exceptions.
class CoreError : public std::runtime_error {
 public:
  explicit CoreError(const std::string& message) : std::runtime_error(message) {}
};

// RGBA8 (straight alpha, alpha ignored), row-major, width*height pixels -> planar CHW float,
// ((c / 255) - mean) / std per channel, computed in float to match torchvision bit for bit.
std::vector<float> rgbaToChw(const uint8_t* rgba, int width, int height, const float mean[3],
                             const float std[3]);

// Planar CHW float -> RGBA8, the inverse of rgbaToChw: x stands for the picture value
// x * std + mean (a model with output range [lo, hi] uses mean = -lo / (hi - lo) and
// std = 1 / (hi - lo)), as in the Java ImageTensors.chwToArgb. Clamped to [0, 1] (NaN -> 0),
// floor(v * 255 + 0.5), alpha 255.
std::vector<uint8_t> chwToRgba(const float* chw, int width, int height, const float mean[3],
                               const float std[3]);

// Softmax over a flat vector of logits (max subtracted, sums in double); any NaN makes every
// probability NaN, like torch. Throws std::invalid_argument on an empty vector.
std::vector<float> softmax(const std::vector<float>& logits);

// Indices of the k largest values, largest first; ties keep the lower index first.
std::vector<int> topK(const std::vector<float>& values, int k);

// Per-pixel class index over a CHW score map (channels = classes); ties pick the lower class.
std::vector<int32_t> argmaxChannels(const float* chw, int channels, int width, int height);

class InferenceCore {
 public:
  // Throws CoreError when the file is missing, unreadable or not a lite-interpreter archive.
  explicit InferenceCore(const std::string& modelPath);
  ~InferenceCore();
  InferenceCore(const InferenceCore&) = delete;
  InferenceCore& operator=(const InferenceCore&) = delete;

  // Runs forward() on one float32 tensor and returns, as contiguous float32, the output tensor
  // the embedded metadata names (a dict's "key" or a tuple's "index"), else the first one. Throws std::invalid_argument when shape does not describe input, CoreError when
  // the model fails. Safe to call from several threads: calls are serialized.
  std::vector<float> run(const std::vector<float>& input, const std::vector<int64_t>& shape,
                         std::vector<int64_t>& outputShape);

  // The embedded "scaffold.json" extra file, or "" when the archive has none.
  const std::string& metadata() const;

  // True while inference runs on the GPU (only in builds with SCAFFOLD_USE_METAL).
  bool usesGpu() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  std::mutex mutex_;
};

}  // namespace scaffold
