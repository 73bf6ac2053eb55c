// Shared inference core on ExecuTorch (see inference_core.h): loads a .pte, reads the metadata
// from its constant method, runs `forward` on one float tensor. Written against the runtime API
// only (Program, Method, MemoryManager, DataLoader), whose headers ship in every ExecuTorch
// distribution, the pip wheel included; the extension/module and data_loader headers do not, so
// the small pieces of them this core needs (a buffer loader, a heap allocator) are below.
// Compiled by the NDK (Android, ExecuTorch built from source), by Xcode and by g++ against the
// pip wheel in `scaffold check`; it must stay valid C++17.
#include "inference_core.h"

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <limits>
#include <new>
#include <utility>

#include <executorch/runtime/core/data_loader.h>
#include <executorch/runtime/core/error.h>
#include <executorch/runtime/core/evalue.h>
#include <executorch/runtime/core/exec_aten/exec_aten.h>
#include <executorch/runtime/core/freeable_buffer.h>
#include <executorch/runtime/core/hierarchical_allocator.h>
#include <executorch/runtime/core/memory_allocator.h>
#include <executorch/runtime/core/span.h>
#include <executorch/runtime/executor/memory_manager.h>
#include <executorch/runtime/executor/method.h>
#include <executorch/runtime/executor/program.h>
#include <executorch/runtime/platform/runtime.h>

namespace scaffold {
namespace {

namespace et = ::executorch::runtime;
using ::executorch::aten::ScalarType;
using ::executorch::aten::Tensor;
using ::executorch::aten::TensorImpl;

constexpr const char* kMetadataMethod = "scaffold_metadata";
constexpr const char* kForwardMethod = "forward";
// Segments inside a .pte are aligned relative to the file start; the buffer start must be too.
constexpr size_t kBufferAlignment = 64;

std::string errorText(et::Error error) {
  char code[8];
  std::snprintf(code, sizeof(code), "0x%02x", static_cast<unsigned>(error));
  return std::string(et::to_string(error)) + " (error " + code + ")";
}

// The whole .pte in memory, aligned; the program's flatbuffer and segments point into it.
class BufferLoader final : public et::DataLoader {
 public:
  explicit BufferLoader(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw CoreError("cannot open model file '" + path + "'");
    const std::vector<char> bytes((std::istreambuf_iterator<char>(in)),
                                  std::istreambuf_iterator<char>());
    if (in.bad()) throw CoreError("cannot read model file '" + path + "'");
    storage_.resize(bytes.size() + kBufferAlignment);
    const auto base = reinterpret_cast<uintptr_t>(storage_.data());
    offset_ = static_cast<size_t>((kBufferAlignment - base % kBufferAlignment) % kBufferAlignment);
    size_ = bytes.size();
    if (size_ != 0) std::memcpy(storage_.data() + offset_, bytes.data(), size_);
  }

  et::Result<et::FreeableBuffer> load(size_t offset, size_t size,
                                      const SegmentInfo& /*segment_info*/) const override {
    if (offset > size_ || size > size_ - offset) return et::Error::InvalidArgument;
    // Not freeable: the loader owns the bytes for as long as the program lives.
    return et::FreeableBuffer(storage_.data() + offset_ + offset, size, nullptr);
  }

  et::Result<size_t> size() const override { return size_; }

 private:
  std::vector<uint8_t> storage_;
  size_t offset_ = 0;
  size_t size_ = 0;
};

// A MemoryAllocator that grows on the heap (the runtime's own allocator needs a fixed arena
// whose size a .pte does not state); reset() frees everything.
class HeapAllocator final : public et::MemoryAllocator {
 public:
  HeapAllocator() : et::MemoryAllocator(0, nullptr) {}

  void* allocate(size_t size, size_t alignment = kDefaultAlignment) override {
    if (alignment == 0 || (alignment & (alignment - 1)) != 0) return nullptr;
    if (size > std::numeric_limits<size_t>::max() - alignment) return nullptr;
    std::unique_ptr<uint8_t[]> block(new (std::nothrow) uint8_t[size + alignment]);
    if (!block) return nullptr;
    const auto base = reinterpret_cast<uintptr_t>(block.get());
    uint8_t* aligned = block.get() + (alignment - base % alignment) % alignment;
    blocks_.push_back(std::move(block));
    return aligned;
  }

  void reset() override { blocks_.clear(); }

 private:
  std::vector<std::unique_ptr<uint8_t[]>> blocks_;
};

// One loaded method with the memory it plans into; everything must outlive the Method.
struct LoadedMethod {
  HeapAllocator methodAllocator;
  HeapAllocator tempAllocator;
  // Not zero-filled (new[] without ()): pages a plan reserves but never touches cost nothing.
  std::vector<std::unique_ptr<uint8_t[]>> planned;
  std::vector<et::Span<uint8_t>> plannedSpans;
  std::unique_ptr<et::HierarchicalAllocator> plannedMemory;
  std::unique_ptr<et::MemoryManager> memoryManager;
  std::unique_ptr<et::Method> method;
};

std::unique_ptr<LoadedMethod> loadMethod(et::Program& program, const char* name) {
  auto meta = program.method_meta(name);
  if (!meta.ok()) {
    throw CoreError(std::string("the model has no method '") + name + "': " +
                    errorText(meta.error()));
  }
  std::unique_ptr<LoadedMethod> loaded(new LoadedMethod());
  for (size_t i = 0; i < meta->num_memory_planned_buffers(); ++i) {
    const auto size = meta->memory_planned_buffer_size(i);
    if (!size.ok() || *size < 0) throw CoreError("the model's memory plan is invalid");
    const auto bytes = static_cast<size_t>(*size);
    loaded->planned.emplace_back(new (std::nothrow) uint8_t[bytes == 0 ? 1 : bytes]);
    if (!loaded->planned.back()) {
      throw CoreError(std::string("method '") + name + "' plans " + std::to_string(bytes) +
                      " bytes of memory, more than can be allocated; export the model again");
    }
    loaded->plannedSpans.emplace_back(loaded->planned.back().get(), bytes);
  }
  loaded->plannedMemory.reset(new et::HierarchicalAllocator(
      et::Span<et::Span<uint8_t>>(loaded->plannedSpans.data(), loaded->plannedSpans.size())));
  loaded->memoryManager.reset(new et::MemoryManager(
      &loaded->methodAllocator, loaded->plannedMemory.get(), &loaded->tempAllocator));
  auto method = program.load_method(name, loaded->memoryManager.get());
  if (!method.ok()) {
    // Typically a delegate (Vulkan, Core ML) that this build of the runtime does not register.
    throw CoreError(std::string("cannot load method '") + name + "': " +
                    errorText(method.error()) +
                    "; the runtime lacks a backend or kernel the .pte was exported for");
  }
  loaded->method.reset(new et::Method(std::move(method.get())));
  return loaded;
}

size_t elementCount(const Tensor& tensor) { return static_cast<size_t>(tensor.numel()); }

// Any real-valued tensor as float32, in the tensor's (contiguous) memory order.
std::vector<float> toFloats(const Tensor& tensor) {
  const size_t n = elementCount(tensor);
  std::vector<float> out(n);
  switch (tensor.scalar_type()) {
    case ScalarType::Float: {
      const float* data = tensor.const_data_ptr<float>();
      std::copy(data, data + n, out.begin());
      break;
    }
    case ScalarType::Double: {
      const double* data = tensor.const_data_ptr<double>();
      for (size_t i = 0; i < n; ++i) out[i] = static_cast<float>(data[i]);
      break;
    }
    case ScalarType::Long: {
      const int64_t* data = tensor.const_data_ptr<int64_t>();
      for (size_t i = 0; i < n; ++i) out[i] = static_cast<float>(data[i]);
      break;
    }
    case ScalarType::Int: {
      const int32_t* data = tensor.const_data_ptr<int32_t>();
      for (size_t i = 0; i < n; ++i) out[i] = static_cast<float>(data[i]);
      break;
    }
    default:
      throw CoreError("the model's output has scalar type " +
                      std::to_string(static_cast<int>(tensor.scalar_type())) +
                      ", the core reads float, double, int and long");
  }
  return out;
}

std::vector<int64_t> sizesOf(const Tensor& tensor) {
  std::vector<int64_t> sizes;
  for (ssize_t d = 0; d < tensor.dim(); ++d) sizes.push_back(tensor.size(d));
  return sizes;
}

// (boxes [1,]N x 4, scores [1,]N, labels [1,]N) as one N x kDetectionRow matrix, as the lite
// core packs a torchvision-style detector's output; false for any other output.
bool packDetections(const std::vector<et::EValue>& outputs, std::vector<float>& packed,
                    std::vector<int64_t>& shape) {
  if (outputs.size() != 3) return false;
  for (const auto& value : outputs) {
    if (!value.isTensor()) return false;
  }
  const Tensor boxes = outputs[0].toTensor();
  const Tensor scores = outputs[1].toTensor();
  const Tensor labels = outputs[2].toTensor();
  const bool batched = boxes.dim() == 3 && scores.dim() == 2 && labels.dim() == 2 &&
                       boxes.size(0) == 1 && scores.size(0) == 1 && labels.size(0) == 1;
  const ssize_t lead = batched ? 1 : 0;
  if (boxes.dim() != 2 + lead || scores.dim() != 1 + lead || labels.dim() != 1 + lead) return false;
  const int64_t n = boxes.size(lead);
  if (boxes.size(lead + 1) != 4 || scores.size(lead) != n || labels.size(lead) != n) return false;
  const std::vector<float> b = toFloats(boxes), s = toFloats(scores), l = toFloats(labels);
  packed.assign(static_cast<size_t>(n) * kDetectionRow, 0.0f);
  for (int64_t i = 0; i < n; ++i) {
    float* row = packed.data() + static_cast<size_t>(i) * kDetectionRow;
    std::copy(b.begin() + i * 4, b.begin() + i * 4 + 4, row);
    row[4] = s[static_cast<size_t>(i)];
    row[5] = l[static_cast<size_t>(i)];
  }
  shape = {n, kDetectionRow};
  return true;
}

// ExecuTorch flattens a tuple, list or dict output into the method's output list (dicts in
// insertion order), so a tuple index is an output index; a dict key has no name left in the .pte.
std::vector<float> chooseOutput(const std::vector<et::EValue>& outputs,
                                const OutputChoice& choice, std::vector<int64_t>& shape) {
  std::vector<float> packed;
  if (choice.index < 0 && choice.key.empty() && packDetections(outputs, packed, shape)) return packed;
  size_t pick = 0;
  if (choice.index >= 0) {
    pick = static_cast<size_t>(choice.index);
    if (pick >= outputs.size() || !outputs[pick].isTensor()) {
      throw CoreError("the model has no tensor output at index " + std::to_string(choice.index) +
                      " (it has " + std::to_string(outputs.size()) + " outputs)");
    }
  } else {
    if (!choice.key.empty() && outputs.size() != 1) {
      throw CoreError("the metadata names a dict output by key, but a .pte keeps no output names; "
                      "export a model whose forward returns only that tensor");
    }
    while (pick < outputs.size() && !outputs[pick].isTensor()) ++pick;
    if (pick == outputs.size()) throw CoreError("the model's output contains no tensor");
  }
  const Tensor tensor = outputs[pick].toTensor();
  shape = sizesOf(tensor);
  return toFloats(tensor);
}

}  // namespace

struct InferenceCore::Impl {
  std::unique_ptr<BufferLoader> loader;
  std::unique_ptr<et::Program> program;
  std::unique_ptr<LoadedMethod> forward;
  std::string metadata;
  OutputChoice choice;
};

InferenceCore::InferenceCore(const std::string& modelPath) : impl_(new Impl()) {
  et::runtime_init();
  impl_->loader.reset(new BufferLoader(modelPath));
  auto program = et::Program::load(impl_->loader.get());
  if (!program.ok()) {
    throw CoreError("cannot load model '" + modelPath + "': not an ExecuTorch program (" +
                    errorText(program.error()) + ")");
  }
  impl_->program.reset(new et::Program(std::move(program.get())));
  bool hasMetadata = false;
  for (size_t i = 0; i < impl_->program->num_methods(); ++i) {
    const auto name = impl_->program->get_method_name(i);
    if (name.ok() && std::strcmp(*name, kMetadataMethod) == 0) hasMetadata = true;
  }
  try {
    if (hasMetadata) {
      auto method = loadMethod(*impl_->program, kMetadataMethod);
      const et::Error status = method->method->execute();
      if (status != et::Error::Ok) {
        throw CoreError(std::string("cannot read the metadata: ") + errorText(status));
      }
      if (method->method->outputs_size() > 0 && method->method->get_output(0).isString()) {
        const auto text = method->method->get_output(0).toString();
        impl_->metadata.assign(text.data(), text.size());
      }
    }
    impl_->forward = loadMethod(*impl_->program, kForwardMethod);
  } catch (const CoreError& e) {
    throw CoreError("cannot load model '" + modelPath + "': " + e.what());
  }
  impl_->choice = parseOutputChoice(impl_->metadata);
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
    if (dim > std::numeric_limits<int32_t>::max() ||
        expected > std::numeric_limits<size_t>::max() / static_cast<size_t>(dim)) {
      throw std::invalid_argument("input shape is too large");
    }
    expected *= static_cast<size_t>(dim);
  }
  if (expected != count) {
    throw std::invalid_argument("input has " + std::to_string(count) +
                                " values but its shape needs " + std::to_string(expected));
  }

  std::lock_guard<std::mutex> lock(mutex_);
  et::Method& method = *impl_->forward->method;
  if (method.inputs_size() != 1) {
    throw CoreError("the model's forward takes " + std::to_string(method.inputs_size()) +
                    " inputs, the core feeds one tensor");
  }
  // A copy: set_input may keep pointing at it, and a model may change its input in place.
  // int64_t elements keep the buffer aligned for either type.
  const bool int64 = type == InputType::Int64;
  std::vector<int64_t> data(int64 ? count : (count + 1) / 2);
  if (count != 0) std::memcpy(data.data(), input, count * (int64 ? sizeof(int64_t) : sizeof(float)));
  const size_t rank = shape.size();
  std::vector<TensorImpl::SizesType> sizes(rank);
  std::vector<TensorImpl::DimOrderType> dimOrder(rank);
  std::vector<TensorImpl::StridesType> strides(rank);
  TensorImpl::StridesType stride = 1;
  for (size_t d = rank; d-- > 0;) {
    sizes[d] = static_cast<TensorImpl::SizesType>(shape[d]);
    dimOrder[d] = static_cast<TensorImpl::DimOrderType>(d);
    strides[d] = stride;
    stride *= sizes[d];
  }
  TensorImpl impl(int64 ? ScalarType::Long : ScalarType::Float, static_cast<ssize_t>(rank),
                  sizes.data(), data.data(), dimOrder.data(), strides.data());
  et::Error status = method.set_input(et::EValue(Tensor(&impl)), 0);
  if (status != et::Error::Ok) {
    throw std::invalid_argument("the model does not accept an input of this shape: " +
                                errorText(status));
  }
  status = method.execute();
  impl_->forward->tempAllocator.reset();
  if (status != et::Error::Ok) throw CoreError("inference failed: " + errorText(status));
  std::vector<et::EValue> outputs(method.outputs_size());
  status = method.get_outputs(outputs.data(), outputs.size());
  if (status != et::Error::Ok) throw CoreError("cannot read the outputs: " + errorText(status));
  return chooseOutput(outputs, impl_->choice, outputShape);
}

const std::string& InferenceCore::metadata() const { return impl_->metadata; }

// ExecuTorch picks its delegates when the .pte is exported; the core runs what the .pte holds on
// the CPU build of the runtime, so nothing here switches to a GPU at run time.
bool InferenceCore::usesGpu() const { return false; }

}  // namespace scaffold
