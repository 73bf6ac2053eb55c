// Runtime-neutral helpers of the inference core: pixels to tensors and back, softmax/top-k,
// masks, YCbCr for luma models, detection decode and NMS. Every runtime's core ships these same
// bytes (image_ops.cpp), so the conversions the apps use are the ones checked on the host.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace scaffold {

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

// ---- luma (Y) models: super-resolution networks such as ESPCN see only the Y plane ----
// YCbCr is JFIF's (JPEG, BT.601 full range), kept in float (not rounded to bytes), every step a
// single float operation in the order the Java ImageTensors and the generator's numpy use:
//   Y  = 0.299 R + 0.587 G + 0.114 B
//   Cb = 128 - 0.168736 R - 0.331264 G + 0.5 B
//   Cr = 128 + 0.5 R - 0.418688 G - 0.081312 B

// RGBA8 -> Y, Cb, Cr planes (0..255 floats); alpha ignored.
std::vector<float> rgbaToYcbcr(const uint8_t* rgba, int width, int height);

// RGBA8 -> the input tensor of a luma model: ((Y / 255) - mean) / std, one plane.
std::vector<float> rgbaToY(const uint8_t* rgba, int width, int height, float mean, float std);

// Bilinear resize of one plane, half-pixel centers (torch's align_corners=False, no
// antialiasing): src = (dst + 0.5) * (in / out) - 0.5 clamped at 0, neighbours floor(src) and
// min(floor(src) + 1, in - 1), (a (1 - lx) + b lx) (1 - ly) + (c (1 - lx) + d lx) ly.
std::vector<float> resizeBilinear(const float* plane, int inWidth, int inHeight, int outWidth,
                                  int outHeight);

// A luma model's output (outWidth x outHeight, picture value y * std + mean clamped to [0, 1],
// NaN -> 0, times 255) with Cb/Cr of the input picture (inWidth x inHeight RGBA8) resized to the
// output size, back to RGB (R = Y + 1.402 Cr', G = Y - 0.344136 Cb' - 0.714136 Cr',
// B = Y + 1.772 Cb', with Cb' = Cb - 128, Cr' = Cr - 128), clamped to [0, 255], rounded half up,
// alpha 255. Same as the Java ImageTensors.yToArgb.
std::vector<uint8_t> yToRgba(const float* y, int outWidth, int outHeight, float mean, float std,
                             const uint8_t* inputRgba, int inWidth, int inHeight);

// ---- object detection: decode, score threshold, non-maximum suppression ----
// Decoded boxes are rows of kDetectionRow floats: x1, y1, x2, y2 (model-input pixels), score,
// label. Same arithmetic, in the same order, as the Java Detections class and torchvision.
constexpr int kDetectionRow = 6;

// YOLO rows (cx, cy, w, h, objectness, `classes` scores) -> decoded rows. score = objectness x
// the best class score (first best on ties), after a sigmoid when `logits`; x1 = cx - 0.5 w ...
// (torchvision box_convert), times width/height when `normalized`.
std::vector<float> decodeYolo(const float* raw, size_t count, int classes, bool normalized,
                              bool logits, int width, int height);

// Packed (boxes, scores, labels) rows -> decoded rows (scaled when `normalized`).
std::vector<float> decodeBoxes(const float* packed, size_t count, bool normalized, int width,
                               int height);

// Indices of the boxes to show, best first: score >= scoreThreshold, then class-agnostic NMS as
// torchvision.ops.nms (drop a box whose IoU with a kept, better box is > iouThreshold; equal
// scores keep the lower index first), at most maxDetections.
std::vector<int> selectDetections(const std::vector<float>& decoded, float scoreThreshold,
                                  double iouThreshold, int maxDetections);

// ---- metadata ----
// Which output the apps use, as the generator recorded it in the metadata's "output" object
// ({"index":N} for a tuple or list, {"key":"..."} for a dict). The metadata is compact JSON written
// by the generator, and inside JSON strings every quote is escaped, so the literal `"output":{`
// only occurs as that object's key; the object holds no nested objects. No choice: index -1, key
// empty.
struct OutputChoice {
  std::string key;
  int64_t index = -1;
};

OutputChoice parseOutputChoice(const std::string& json);

}  // namespace scaffold
