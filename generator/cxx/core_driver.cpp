// Host-only command-line driver around the shared inference core. generator/native.py builds it
// against the host LibTorch and feeds it files, so Python can compare the phone's C++ code path
// with torch and torchvision. Never shipped in generated projects.
//
// Modes (binary files are raw little-endian arrays, like the generator's goldens):
//   run      MODEL INPUT.f32 SHAPE OUTPUT.f32 [METADATA_OUT]
//   run-int64 MODEL INPUT.i64 SHAPE OUTPUT.f32 [METADATA_OUT]       (an int64 model input)
//   rgba2chw RGBA.u8 WIDTH HEIGHT MEAN STD OUTPUT.f32
//   chw2rgba CHW.f32 WIDTH HEIGHT MEAN STD OUTPUT.u8
//   softmax  LOGITS.f32 OUTPUT.f32
//   topk     VALUES.f32 K OUTPUT.i32
//   argmax   SCORES.f32 CHANNELS WIDTH HEIGHT OUTPUT.i32
//   rgba2ycbcr RGBA.u8 WIDTH HEIGHT OUTPUT.f32
//   rgba2y   RGBA.u8 WIDTH HEIGHT MEAN STD OUTPUT.f32          (MEAN, STD: one float each)
//   y2rgba   Y.f32 OUT_W OUT_H MEAN STD RGBA.u8 IN_W IN_H OUTPUT.u8
//   detect   RAW.f32 yolo|boxes CLASSES NORMALIZED LOGITS WIDTH HEIGHT SCORE IOU MAX DECODED.f32 KEEP.i32
//            (NORMALIZED, LOGITS: 0 or 1; SCORE: float32 threshold; IOU: a double)
// SHAPE, MEAN and STD are comma-separated; MEAN/STD accept hex floats so Python can pass float32
// values without a decimal round trip. Exit status: 0 ok, 1 failure (message on stderr), 2 usage.
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <fstream>
#include <iostream>
#include <iterator>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "inference_core.h"

namespace {

struct UsageError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

std::vector<char> readFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + path);
  return std::vector<char>(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

void writeFile(const std::string& path, const void* data, size_t size) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(static_cast<const char*>(data), static_cast<std::streamsize>(size));
  if (!out) throw std::runtime_error("cannot write " + path);
}

template <typename T>
std::vector<T> readArray(const std::string& path) {
  const std::vector<char> bytes = readFile(path);
  if (bytes.size() % sizeof(T) != 0) {
    throw std::runtime_error(path + ": size " + std::to_string(bytes.size()) +
                             " is not a multiple of " + std::to_string(sizeof(T)));
  }
  std::vector<T> values(bytes.size() / sizeof(T));
  if (!values.empty()) std::memcpy(values.data(), bytes.data(), bytes.size());
  return values;
}

long long parseInt(const std::string& text) {
  char* end = nullptr;
  const long long value = std::strtoll(text.c_str(), &end, 10);
  if (text.empty() || *end != '\0') throw UsageError("not an integer: '" + text + "'");
  return value;
}

std::vector<std::string> splitCommas(const std::string& text) {
  std::vector<std::string> parts;
  std::stringstream stream(text);
  std::string part;
  while (std::getline(stream, part, ',')) parts.push_back(part);
  return parts;
}

void parseTriple(const std::string& text, float out[3]) {
  const auto parts = splitCommas(text);
  if (parts.size() != 3) throw UsageError("expected three comma-separated floats: '" + text + "'");
  for (int i = 0; i < 3; ++i) {
    char* end = nullptr;
    out[i] = std::strtof(parts[i].c_str(), &end);
    if (parts[i].empty() || *end != '\0') throw UsageError("not a float: '" + parts[i] + "'");
  }
}

std::string joinShape(const std::vector<int64_t>& shape) {
  std::string text;
  for (size_t i = 0; i < shape.size(); ++i) {
    if (i) text += ',';
    text += std::to_string(shape[i]);
  }
  return text;
}

int runModel(const std::vector<std::string>& args, bool int64) {
  if (args.size() != 4 && args.size() != 5) throw UsageError("run needs 4 or 5 arguments");
  std::vector<int64_t> shape;
  for (const auto& part : splitCommas(args[2])) shape.push_back(parseInt(part));
  const std::vector<float> floats = int64 ? std::vector<float>() : readArray<float>(args[1]);
  const std::vector<int64_t> longs = int64 ? readArray<int64_t>(args[1]) : std::vector<int64_t>();

  using Clock = std::chrono::steady_clock;
  const auto loadStart = Clock::now();
  scaffold::InferenceCore core(args[0]);
  const auto runStart = Clock::now();
  std::vector<int64_t> outputShape;
  const std::vector<float> output =
      int64 ? core.runInt64(longs, shape, outputShape) : core.run(floats, shape, outputShape);
  const auto runEnd = Clock::now();

  writeFile(args[3], output.data(), output.size() * sizeof(float));
  if (args.size() == 5) writeFile(args[4], core.metadata().data(), core.metadata().size());
  const auto ms = [](Clock::duration d) {
    return std::chrono::duration<double, std::milli>(d).count();
  };
  std::cout << "shape=" << joinShape(outputShape) << "\n"
            << "load_ms=" << ms(runStart - loadStart) << "\n"
            << "run_ms=" << ms(runEnd - runStart) << "\n"
            << "metadata_bytes=" << core.metadata().size() << "\n"
            << "gpu=" << (core.usesGpu() ? 1 : 0) << std::endl;
  return 0;
}

int convertRgba(const std::vector<std::string>& args) {
  if (args.size() != 6) throw UsageError("rgba2chw needs 6 arguments");
  const std::vector<char> rgba = readFile(args[0]);
  const int width = static_cast<int>(parseInt(args[1]));
  const int height = static_cast<int>(parseInt(args[2]));
  float mean[3], std[3];
  parseTriple(args[3], mean);
  parseTriple(args[4], std);
  if (width <= 0 || height <= 0 ||
      rgba.size() != static_cast<size_t>(width) * static_cast<size_t>(height) * 4) {
    throw std::runtime_error(args[0] + ": expected " + args[1] + "x" + args[2] + " RGBA8 pixels");
  }
  const auto chw =
      scaffold::rgbaToChw(reinterpret_cast<const uint8_t*>(rgba.data()), width, height, mean, std);
  writeFile(args[5], chw.data(), chw.size() * sizeof(float));
  return 0;
}

int convertChw(const std::vector<std::string>& args) {
  if (args.size() != 6) throw UsageError("chw2rgba needs 6 arguments");
  const std::vector<float> chw = readArray<float>(args[0]);
  const int width = static_cast<int>(parseInt(args[1]));
  const int height = static_cast<int>(parseInt(args[2]));
  float mean[3], std[3];
  parseTriple(args[3], mean);
  parseTriple(args[4], std);
  if (width <= 0 || height <= 0 ||
      chw.size() != static_cast<size_t>(width) * static_cast<size_t>(height) * 3) {
    throw std::runtime_error(args[0] + ": expected 3x" + args[2] + "x" + args[1] + " floats");
  }
  const auto rgba = scaffold::chwToRgba(chw.data(), width, height, mean, std);
  writeFile(args[5], rgba.data(), rgba.size());
  return 0;
}

int runSoftmax(const std::vector<std::string>& args) {
  if (args.size() != 2) throw UsageError("softmax needs 2 arguments");
  const auto probabilities = scaffold::softmax(readArray<float>(args[0]));
  writeFile(args[1], probabilities.data(), probabilities.size() * sizeof(float));
  return 0;
}

int runTopK(const std::vector<std::string>& args) {
  if (args.size() != 3) throw UsageError("topk needs 3 arguments");
  const auto indices = scaffold::topK(readArray<float>(args[0]), static_cast<int>(parseInt(args[1])));
  const std::vector<int32_t> out(indices.begin(), indices.end());
  writeFile(args[2], out.data(), out.size() * sizeof(int32_t));
  return 0;
}

int runArgmax(const std::vector<std::string>& args) {
  if (args.size() != 5) throw UsageError("argmax needs 5 arguments");
  const std::vector<float> scores = readArray<float>(args[0]);
  const int channels = static_cast<int>(parseInt(args[1]));
  const int width = static_cast<int>(parseInt(args[2]));
  const int height = static_cast<int>(parseInt(args[3]));
  if (channels <= 0 || width <= 0 || height <= 0 ||
      scores.size() != static_cast<size_t>(channels) * width * height) {
    throw std::runtime_error(args[0] + ": size does not match " + args[1] + "x" + args[3] + "x" +
                             args[2]);
  }
  const auto classes = scaffold::argmaxChannels(scores.data(), channels, width, height);
  writeFile(args[4], classes.data(), classes.size() * sizeof(int32_t));
  return 0;
}

float parseFloat(const std::string& text) {
  char* end = nullptr;
  const float value = std::strtof(text.c_str(), &end);
  if (text.empty() || *end != '\0') throw UsageError("not a float: '" + text + "'");
  return value;
}

std::vector<char> readRgba(const std::string& path, int width, int height) {
  std::vector<char> rgba = readFile(path);
  if (width <= 0 || height <= 0 ||
      rgba.size() != static_cast<size_t>(width) * static_cast<size_t>(height) * 4) {
    throw std::runtime_error(path + ": expected " + std::to_string(width) + "x" +
                             std::to_string(height) + " RGBA8 pixels");
  }
  return rgba;
}

const uint8_t* bytes(const std::vector<char>& data) {
  return reinterpret_cast<const uint8_t*>(data.data());
}

int convertYcbcr(const std::vector<std::string>& args) {
  if (args.size() != 4) throw UsageError("rgba2ycbcr needs 4 arguments");
  const int width = static_cast<int>(parseInt(args[1]));
  const int height = static_cast<int>(parseInt(args[2]));
  const auto planes = scaffold::rgbaToYcbcr(bytes(readRgba(args[0], width, height)), width, height);
  writeFile(args[3], planes.data(), planes.size() * sizeof(float));
  return 0;
}

int convertY(const std::vector<std::string>& args) {
  if (args.size() != 6) throw UsageError("rgba2y needs 6 arguments");
  const int width = static_cast<int>(parseInt(args[1]));
  const int height = static_cast<int>(parseInt(args[2]));
  const auto y = scaffold::rgbaToY(bytes(readRgba(args[0], width, height)), width, height,
                                   parseFloat(args[3]), parseFloat(args[4]));
  writeFile(args[5], y.data(), y.size() * sizeof(float));
  return 0;
}

int composeY(const std::vector<std::string>& args) {
  if (args.size() != 9) throw UsageError("y2rgba needs 9 arguments");
  const std::vector<float> y = readArray<float>(args[0]);
  const int outWidth = static_cast<int>(parseInt(args[1]));
  const int outHeight = static_cast<int>(parseInt(args[2]));
  const int inWidth = static_cast<int>(parseInt(args[6]));
  const int inHeight = static_cast<int>(parseInt(args[7]));
  if (outWidth <= 0 || outHeight <= 0 ||
      y.size() != static_cast<size_t>(outWidth) * static_cast<size_t>(outHeight)) {
    throw std::runtime_error(args[0] + ": expected " + args[1] + "x" + args[2] + " floats");
  }
  const auto rgba =
      scaffold::yToRgba(y.data(), outWidth, outHeight, parseFloat(args[3]), parseFloat(args[4]),
                        bytes(readRgba(args[5], inWidth, inHeight)), inWidth, inHeight);
  writeFile(args[8], rgba.data(), rgba.size());
  return 0;
}

int runDetect(const std::vector<std::string>& args) {
  if (args.size() != 12) throw UsageError("detect needs 12 arguments");
  const std::vector<float> raw = readArray<float>(args[0]);
  const std::string layout = args[1];
  const int classes = static_cast<int>(parseInt(args[2]));
  const bool normalized = parseInt(args[3]) != 0;
  const bool logits = parseInt(args[4]) != 0;
  const int width = static_cast<int>(parseInt(args[5]));
  const int height = static_cast<int>(parseInt(args[6]));
  char* end = nullptr;
  const double iou = std::strtod(args[8].c_str(), &end);
  if (args[8].empty() || *end != '\0') throw UsageError("not a number: '" + args[8] + "'");
  std::vector<float> decoded;
  if (layout == "yolo") {
    decoded = scaffold::decodeYolo(raw.data(), raw.size(), classes, normalized, logits, width, height);
  } else if (layout == "boxes") {
    decoded = scaffold::decodeBoxes(raw.data(), raw.size(), normalized, width, height);
  } else {
    throw UsageError("layout must be yolo or boxes");
  }
  const auto keep = scaffold::selectDetections(decoded, parseFloat(args[7]), iou,
                                               static_cast<int>(parseInt(args[9])));
  const std::vector<int32_t> kept(keep.begin(), keep.end());
  writeFile(args[10], decoded.data(), decoded.size() * sizeof(float));
  writeFile(args[11], kept.data(), kept.size() * sizeof(int32_t));
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  static_assert(sizeof(float) == 4, "float32 files need a 4-byte float");
  const uint16_t probe = 1;
  if (*reinterpret_cast<const uint8_t*>(&probe) != 1) {
    std::cerr << "error: the driver reads little-endian files and needs a little-endian host\n";
    return 1;
  }
  if (argc < 2) {
    std::cerr << "usage: core_driver run|rgba2chw|chw2rgba|softmax|topk|argmax|rgba2ycbcr|rgba2y|y2rgba|detect ARGS...\n";
    return 2;
  }
  const std::string mode = argv[1];
  const std::vector<std::string> args(argv + 2, argv + argc);
  try {
    if (mode == "run" || mode == "run-int64") return runModel(args, mode == "run-int64");
    if (mode == "rgba2chw") return convertRgba(args);
    if (mode == "chw2rgba") return convertChw(args);
    if (mode == "softmax") return runSoftmax(args);
    if (mode == "topk") return runTopK(args);
    if (mode == "argmax") return runArgmax(args);
    if (mode == "rgba2ycbcr") return convertYcbcr(args);
    if (mode == "rgba2y") return convertY(args);
    if (mode == "y2rgba") return composeY(args);
    if (mode == "detect") return runDetect(args);
    throw UsageError("unknown mode '" + mode + "'");
  } catch (const UsageError& e) {
    std::cerr << "usage error: " << e.what() << "\n";
    return 2;
  } catch (const std::exception& e) {
    // One line: native.py turns it into a CheckFailedError message.
    std::string message = e.what();
    for (char& ch : message) {
      if (ch == '\n' || ch == '\r') ch = ' ';
    }
    std::cerr << "error: " << message << "\n";
    return 1;
  }
}
