// Objective-C++ bridge over the shared inference core's model half (the image half is
// ImageCore.mm, shared with the ExecuTorch app). C++ exceptions end here: each one becomes an
// NSError, which Swift sees as a thrown error.
#import "TorchModule.h"

#include <cstdint>
#include <cstring>
#include <exception>
#include <memory>
#include <string>
#include <vector>

#include "Core/inference_core.h"

static NSString *const TorchModuleErrorDomain = @"TorchModule";

static NSError *TorchError(const std::string &message) {
  NSString *text = [NSString stringWithUTF8String:message.c_str()];
  return [NSError errorWithDomain:TorchModuleErrorDomain
                             code:1
                         userInfo:@{NSLocalizedDescriptionKey : text ?: @"inference core error"}];
}

static std::vector<float> FloatsOf(NSData *data) {
  std::vector<float> values(data.length / sizeof(float));
  if (!values.empty()) std::memcpy(values.data(), data.bytes, values.size() * sizeof(float));
  return values;
}

@implementation TorchOutput

- (instancetype)initWithValues:(NSData *)values shape:(NSArray<NSNumber *> *)shape {
  self = [super init];
  if (self) {
    _values = values;
    _shape = shape;
  }
  return self;
}

@end

static std::vector<int64_t> DimsOf(NSArray<NSNumber *> *shape) {
  std::vector<int64_t> dims;
  for (NSNumber *dim in shape) dims.push_back(dim.longLongValue);
  return dims;
}

static TorchOutput *OutputOf(const std::vector<float> &output,
                             const std::vector<int64_t> &outputShape) {
  NSMutableArray<NSNumber *> *shape = [NSMutableArray arrayWithCapacity:outputShape.size()];
  for (const int64_t dim : outputShape) [shape addObject:@(dim)];
  NSData *values = [NSData dataWithBytes:output.data() length:output.size() * sizeof(float)];
  return [[TorchOutput alloc] initWithValues:values shape:shape];
}

@implementation TorchModule {
  std::unique_ptr<scaffold::InferenceCore> _core;
}

- (nullable instancetype)initWithFileAtPath:(NSString *)path error:(NSError **)error {
  self = [super init];
  if (!self) return nil;
  try {
    _core = std::make_unique<scaffold::InferenceCore>(std::string(path.fileSystemRepresentation));
  } catch (const std::exception &e) {
    if (error) *error = TorchError(e.what());
    return nil;
  }
  return self;
}

- (NSString *)metadata {
  const std::string &json = _core->metadata();
  NSString *text = [[NSString alloc] initWithBytes:json.data()
                                            length:json.size()
                                          encoding:NSUTF8StringEncoding];
  return text ?: @"";
}

- (BOOL)usesGPU {
  return _core->usesGpu() ? YES : NO;
}

- (nullable TorchOutput *)runWithInput:(NSData *)input
                                 shape:(NSArray<NSNumber *> *)shape
                                 error:(NSError **)error {
  if (input.length % sizeof(float) != 0) {
    if (error) *error = TorchError("input length is not a whole number of float32 values");
    return nil;
  }
  try {
    std::vector<int64_t> outputShape;
    const std::vector<float> output = _core->run(FloatsOf(input), DimsOf(shape), outputShape);
    return OutputOf(output, outputShape);
  } catch (const std::exception &e) {
    if (error) *error = TorchError(e.what());
    return nil;
  }
}

- (nullable TorchOutput *)runWithInt64Input:(NSData *)input
                                      shape:(NSArray<NSNumber *> *)shape
                                      error:(NSError **)error {
  if (input.length % sizeof(int64_t) != 0) {
    if (error) *error = TorchError("input length is not a whole number of int64 values");
    return nil;
  }
  std::vector<int64_t> values(input.length / sizeof(int64_t));
  if (!values.empty()) std::memcpy(values.data(), input.bytes, values.size() * sizeof(int64_t));
  try {
    std::vector<int64_t> outputShape;
    const std::vector<float> output = _core->runInt64(values, DimsOf(shape), outputShape);
    return OutputOf(output, outputShape);
  } catch (const std::exception &e) {
    if (error) *error = TorchError(e.what());
    return nil;
  }
}

@end
