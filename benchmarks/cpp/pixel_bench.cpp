// Host timing of the shared core's rgbaToChw / chwToRgba on one frame against memcpy of the CHW
// float array, with the code they replaced as "before" rows. Built and run by
// benchmarks/bench_pixels.py (g++ -O2). Before timing, it checks after == before bit for bit on
// every byte value and on every 61st float bit pattern (all 2^32 / 61, NaNs and infinities
// included) for a tanh output and an ImageNet-like normalization; exits 1 on a difference.
// Args: WIDTH HEIGHT RUNS. Prints "name TAB median thread-CPU ms" lines.
#include <time.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <vector>

#include "image_ops.h"

namespace {

double cpuMillis() {
  timespec t;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
  return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

// The conversions as they were before the rewrite (argument checks left out).
std::vector<float> rgbaToChwBefore(const uint8_t* rgba, size_t plane, const float mean[3], const float std[3]) {
  std::vector<float> chw(plane * 3);
  for (size_t i = 0; i < plane; ++i) {
    for (int c = 0; c < 3; ++c) {
      const float unit = static_cast<float>(rgba[i * 4 + c]) / 255.0f;
      const float centered = unit - mean[c];
      chw[c * plane + i] = centered / std[c];
    }
  }
  return chw;
}

std::vector<uint8_t> chwToRgbaBefore(const float* chw, size_t plane, const float mean[3], const float std[3]) {
  std::vector<uint8_t> rgba(plane * 4);
  for (size_t i = 0; i < plane; ++i) {
    for (int c = 0; c < 3; ++c) {
      const float scaled = chw[c * plane + i] * std[c];
      float unit = scaled + mean[c];
      if (!(unit >= 0.0f)) unit = 0.0f;
      if (unit > 1.0f) unit = 1.0f;
      const float levels = unit * 255.0f;
      const float rounded = std::floor(levels + 0.5f);
      rgba[i * 4 + c] = static_cast<uint8_t>(rounded);
    }
    rgba[i * 4 + 3] = 255;
  }
  return rgba;
}

bool sameBits(const std::vector<float>& a, const std::vector<float>& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
}

int identity(const float mean[3], const float std[3]) {
  std::vector<uint8_t> bytes(256 * 4);
  for (int v = 0; v < 256; ++v) {
    for (int c = 0; c < 4; ++c) bytes[v * 4 + c] = static_cast<uint8_t>(v * (2 * c + 1) + c);
  }
  if (!sameBits(rgbaToChwBefore(bytes.data(), 256, mean, std), scaffold::rgbaToChw(bytes.data(), 256, 1, mean, std))) {
    std::puts("rgbaToChw differs from the code it replaced");
    return 1;
  }
  const size_t block = 1 << 20;
  std::vector<float> chw(3 * block);
  uint64_t bits = 0;
  while (bits < (1ull << 32)) {
    for (size_t i = 0; i < chw.size(); ++i, bits += 61) {
      const uint32_t b = static_cast<uint32_t>(bits);
      std::memcpy(&chw[i], &b, sizeof b);
    }
    if (chwToRgbaBefore(chw.data(), block, mean, std) != scaffold::chwToRgba(chw.data(), block, 1, mean, std)) {
      std::printf("chwToRgba differs from the code it replaced near float bits %llx\n", static_cast<unsigned long long>(bits));
      return 1;
    }
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 4) return 2;
  const int width = std::atoi(argv[1]), height = std::atoi(argv[2]), runs = std::atoi(argv[3]);
  const size_t plane = static_cast<size_t>(width) * height;
  const float mean[3] = {0.485f, 0.456f, 0.406f}, std[3] = {0.229f, 0.224f, 0.225f};
  const float outMean[3] = {0.5f, 0.5f, 0.5f}, outStd[3] = {0.5f, 0.5f, 0.5f};
  if (identity(mean, std) != 0 || identity(outMean, outStd) != 0) return 1;

  std::mt19937 random(20261123);
  std::vector<uint8_t> rgba(plane * 4);
  for (auto& v : rgba) v = static_cast<uint8_t>(random());
  std::vector<float> chw(plane * 3);
  std::uniform_real_distribution<float> picture(-1.1f, 1.1f);  // a little beyond [-1, 1]: clamping runs too
  for (auto& v : chw) v = picture(random);
  std::vector<float> floatCopy(chw.size());
  std::vector<uint8_t> byteCopy(rgba.size());

  const char* names[] = {"memcpy float[3*w*h]", "memcpy uint8[4*w*h]", "rgbaToChw before", "rgbaToChw after",
                         "chwToRgba before", "chwToRgba after"};
  const int rows = 6;
  std::vector<std::vector<double>> times(rows, std::vector<double>(runs));
  size_t sink = 0;  // printed at the end, so no timed call can be optimized away
  for (int r = -5; r < runs; ++r) {  // five untimed warm-up rounds
    for (int k = 0; k < rows; ++k) {
      const double start = cpuMillis();
      switch (k) {
        case 0: std::memcpy(floatCopy.data(), chw.data(), chw.size() * sizeof(float)); sink += floatCopy[plane]; break;
        case 1: std::memcpy(byteCopy.data(), rgba.data(), rgba.size()); sink += byteCopy[plane]; break;
        case 2: sink += rgbaToChwBefore(rgba.data(), plane, mean, std).size(); break;
        case 3: sink += scaffold::rgbaToChw(rgba.data(), width, height, mean, std).size(); break;
        case 4: sink += chwToRgbaBefore(chw.data(), plane, outMean, outStd).size(); break;
        default: sink += scaffold::chwToRgba(chw.data(), width, height, outMean, outStd).size(); break;
      }
      if (r >= 0) times[k][r] = cpuMillis() - start;
    }
  }
  for (int k = 0; k < rows; ++k) {
    std::sort(times[k].begin(), times[k].end());
    std::printf("%s\t%.3f\n", names[k], times[k][runs / 2]);
  }
  std::fprintf(stderr, "checksum %zu\n", sink);
  return 0;
}
