// Shared inference core: the same header ships in the Android native variant and the iOS app for
// every runtime; inference_core.cpp is the runtime's own (LibTorch-Lite or ExecuTorch), and the
// generator compiles it on the host to prove it reproduces Python's numbers. Keep this header
// free of runtime includes: Swift/Objective-C and JNI glue include it, and only
// inference_core.cpp pays for the runtime's headers.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <vector>

#include "image_ops.h"

namespace scaffold {

// Every failure of the core surfaces as this type (or std::invalid_argument for bad arguments),
// so the glue layers can map it to their own error type without seeing the runtime's exceptions.
class CoreError : public std::runtime_error {
 public:
  explicit CoreError(const std::string& message) : std::runtime_error(message) {}
};

class InferenceCore {
 public:
  // Throws CoreError when the file is missing, unreadable or not a model of the runtime (a
  // lite-interpreter .ptl, or an ExecuTorch .pte).
  explicit InferenceCore(const std::string& modelPath);
  ~InferenceCore();
  InferenceCore(const InferenceCore&) = delete;
  InferenceCore& operator=(const InferenceCore&) = delete;

  // Runs forward() on one float32 tensor and returns, as contiguous float32, the output tensor
  // the embedded metadata names (a dict's "key" or a tuple's "index"), else the first one; a
  // torchvision-style detector's (boxes N x 4, scores N, labels N) comes back packed as one N x 6
  // tensor (x1, y1, x2, y2, score, label). Throws std::invalid_argument when shape does not describe input, CoreError when
  // the model fails. Safe to call from several threads: calls are serialized.
  std::vector<float> run(const std::vector<float>& input, const std::vector<int64_t>& shape,
                         std::vector<int64_t>& outputShape);

  // The same for a model whose input is an int64 tensor (token ids, indices): a non-image input
  // whose metadata says "dtype": "int64".
  std::vector<float> runInt64(const std::vector<int64_t>& input, const std::vector<int64_t>& shape,
                              std::vector<int64_t>& outputShape);

  // The embedded metadata JSON (the .ptl's "scaffold.json" extra file, the .pte's
  // "scaffold_metadata" constant method), or "" when the model has none.
  const std::string& metadata() const;

  // True while inference runs on the GPU (only in builds with SCAFFOLD_USE_METAL).
  bool usesGpu() const;

 private:
  enum class InputType { Float32, Int64 };
  // run and runInt64: `count` values of `type` at `data`, checked against `shape`.
  std::vector<float> runValues(const void* data, size_t count, InputType type,
                               const std::vector<int64_t>& shape, std::vector<int64_t>& outputShape);

  struct Impl;
  std::unique_ptr<Impl> impl_;
  std::mutex mutex_;
};

}  // namespace scaffold
