// Objective-C++ bridge over the runtime-neutral functions of the shared core (pixels, softmax,
// masks, detections), the same for both runtimes: the model runs elsewhere (TorchModule for the
// lite interpreter, Swift for ExecuTorch), so nothing here touches a model runtime. C++
// exceptions end here: each becomes an NSError.
#import "ImageCore.h"

#include <cstdint>
#include <cstring>
#include <exception>
#include <string>
#include <vector>

#include "Core/inference_core.h"

static NSString *const ImageCoreErrorDomain = @"ImageCore";

static NSError *MakeError(const std::string &message) {
  NSString *text = [NSString stringWithUTF8String:message.c_str()];
  return [NSError errorWithDomain:ImageCoreErrorDomain
                             code:1
                         userInfo:@{NSLocalizedDescriptionKey : text ?: @"inference core error"}];
}

static bool ReadTriple(NSArray<NSNumber *> *values, float out[3]) {
  if (values.count != 3) return false;
  for (NSUInteger i = 0; i < 3; ++i) out[i] = values[i].floatValue;
  return true;
}

static std::vector<float> FloatsOf(NSData *data) {
  std::vector<float> values(data.length / sizeof(float));
  if (!values.empty()) std::memcpy(values.data(), data.bytes, values.size() * sizeof(float));
  return values;
}

@implementation ImageCore

+ (nullable NSData *)tensorFromRGBA:(NSData *)rgba
                              width:(NSInteger)width
                             height:(NSInteger)height
                               mean:(NSArray<NSNumber *> *)mean
                                std:(NSArray<NSNumber *> *)std
                              error:(NSError **)error {
  float m[3], s[3];
  if (!ReadTriple(mean, m) || !ReadTriple(std, s)) {
    if (error) *error = MakeError("mean and std need three values (R, G, B)");
    return nil;
  }
  if (width <= 0 || height <= 0 || (NSUInteger)(width * height * 4) != rgba.length) {
    if (error) *error = MakeError("RGBA buffer does not match width x height");
    return nil;
  }
  try {
    const std::vector<float> chw = scaffold::rgbaToChw(static_cast<const uint8_t *>(rgba.bytes),
                                                       (int)width, (int)height, m, s);
    return [NSData dataWithBytes:chw.data() length:chw.size() * sizeof(float)];
  } catch (const std::exception &e) {
    if (error) *error = MakeError(e.what());
    return nil;
  }
}

+ (nullable NSData *)rgbaFromTensor:(NSData *)chw
                              width:(NSInteger)width
                             height:(NSInteger)height
                               mean:(NSArray<NSNumber *> *)mean
                                std:(NSArray<NSNumber *> *)std
                              error:(NSError **)error {
  float m[3], s[3];
  if (!ReadTriple(mean, m) || !ReadTriple(std, s)) {
    if (error) *error = MakeError("mean and std need three values (R, G, B)");
    return nil;
  }
  if (width <= 0 || height <= 0 || (NSUInteger)(width * height * 3) * sizeof(float) != chw.length) {
    if (error) *error = MakeError("tensor does not hold 3 x height x width float32 values");
    return nil;
  }
  try {
    const std::vector<uint8_t> rgba = scaffold::chwToRgba(static_cast<const float *>(chw.bytes),
                                                          (int)width, (int)height, m, s);
    return [NSData dataWithBytes:rgba.data() length:rgba.size()];
  } catch (const std::exception &e) {
    if (error) *error = MakeError(e.what());
    return nil;
  }
}

+ (nullable NSData *)lumaTensorFromRGBA:(NSData *)rgba
                                  width:(NSInteger)width
                                 height:(NSInteger)height
                                   mean:(float)mean
                                    std:(float)std
                                  error:(NSError **)error {
  if (width <= 0 || height <= 0 || (NSUInteger)(width * height * 4) != rgba.length) {
    if (error) *error = MakeError("RGBA buffer does not match width x height");
    return nil;
  }
  try {
    const std::vector<float> y = scaffold::rgbaToY(static_cast<const uint8_t *>(rgba.bytes),
                                                   (int)width, (int)height, mean, std);
    return [NSData dataWithBytes:y.data() length:y.size() * sizeof(float)];
  } catch (const std::exception &e) {
    if (error) *error = MakeError(e.what());
    return nil;
  }
}

+ (nullable NSData *)rgbaFromLuma:(NSData *)luma
                            width:(NSInteger)width
                           height:(NSInteger)height
                             mean:(float)mean
                              std:(float)std
                       colorsFrom:(NSData *)inputRGBA
                       inputWidth:(NSInteger)inputWidth
                      inputHeight:(NSInteger)inputHeight
                            error:(NSError **)error {
  if (width <= 0 || height <= 0 || (NSUInteger)(width * height) * sizeof(float) != luma.length) {
    if (error) *error = MakeError("luma does not hold height x width float32 values");
    return nil;
  }
  if (inputWidth <= 0 || inputHeight <= 0 ||
      (NSUInteger)(inputWidth * inputHeight * 4) != inputRGBA.length) {
    if (error) *error = MakeError("input RGBA buffer does not match its width x height");
    return nil;
  }
  try {
    const std::vector<uint8_t> rgba = scaffold::yToRgba(
        static_cast<const float *>(luma.bytes), (int)width, (int)height, mean, std,
        static_cast<const uint8_t *>(inputRGBA.bytes), (int)inputWidth, (int)inputHeight);
    return [NSData dataWithBytes:rgba.data() length:rgba.size()];
  } catch (const std::exception &e) {
    if (error) *error = MakeError(e.what());
    return nil;
  }
}

+ (nullable NSData *)detectionsFrom:(NSData *)output
                             layout:(NSString *)layout
                            classes:(NSInteger)classes
                         normalized:(BOOL)normalized
                             logits:(BOOL)logits
                              width:(NSInteger)width
                             height:(NSInteger)height
                     scoreThreshold:(float)scoreThreshold
                       iouThreshold:(double)iouThreshold
                      maxDetections:(NSInteger)maxDetections
                              error:(NSError **)error {
  try {
    const std::vector<float> values = FloatsOf(output);
    std::vector<float> decoded;
    if ([layout isEqualToString:@"boxes"]) {
      decoded = scaffold::decodeBoxes(values.data(), values.size(), normalized, (int)width,
                                      (int)height);
    } else {
      decoded = scaffold::decodeYolo(values.data(), values.size(), (int)classes, normalized,
                                     logits, (int)width, (int)height);
    }
    const std::vector<int> keep =
        scaffold::selectDetections(decoded, scoreThreshold, iouThreshold, (int)maxDetections);
    std::vector<float> rows;
    for (const int index : keep) {
      const float *row = decoded.data() + static_cast<size_t>(index) * scaffold::kDetectionRow;
      rows.insert(rows.end(), row, row + scaffold::kDetectionRow);
    }
    return [NSData dataWithBytes:rows.data() length:rows.size() * sizeof(float)];
  } catch (const std::exception &e) {
    if (error) *error = MakeError(e.what());
    return nil;
  }
}

+ (nullable NSData *)softmaxOf:(NSData *)logits error:(NSError **)error {
  try {
    const std::vector<float> probabilities = scaffold::softmax(FloatsOf(logits));
    return [NSData dataWithBytes:probabilities.data() length:probabilities.size() * sizeof(float)];
  } catch (const std::exception &e) {
    if (error) *error = MakeError(e.what());
    return nil;
  }
}

+ (NSArray<NSNumber *> *)topKOf:(NSData *)values k:(NSInteger)k {
  NSMutableArray<NSNumber *> *indices = [NSMutableArray array];
  if (k <= 0) return indices;
  for (const int index : scaffold::topK(FloatsOf(values), (int)k)) [indices addObject:@(index)];
  return indices;
}

+ (nullable NSData *)argmaxOf:(NSData *)scores
                     channels:(NSInteger)channels
                        width:(NSInteger)width
                       height:(NSInteger)height
                        error:(NSError **)error {
  if (channels <= 0 || width <= 0 || height <= 0 ||
      (NSUInteger)(channels * width * height) * sizeof(float) != scores.length) {
    if (error) *error = MakeError("score map does not hold channels x height x width float32 values");
    return nil;
  }
  try {
    const std::vector<int32_t> classes = scaffold::argmaxChannels(
        static_cast<const float *>(scores.bytes), (int)channels, (int)width, (int)height);
    return [NSData dataWithBytes:classes.data() length:classes.size() * sizeof(int32_t)];
  } catch (const std::exception &e) {
    if (error) *error = MakeError(e.what());
    return nil;
  }
}

@end
