// Objective-C face of the shared C++ core's image and output functions
// (Core/inference_core.h), imported into Swift through the bridging header, in the apps of both
// runtimes (the model itself runs through TorchModule or ExecuTorch's Swift API): the app runs
// the same pixel conversions that `scaffold check` compiles and tests on the host, not a Swift
// re-implementation of them.
#import <Foundation/Foundation.h>

NS_ASSUME_NONNULL_BEGIN

/// Stateless: class methods only.
@interface ImageCore : NSObject

- (instancetype)init NS_UNAVAILABLE;

/// RGBA8 pixels (straight alpha, ignored) -> CHW float32, ((c / 255) - mean) / std.
+ (nullable NSData *)tensorFromRGBA:(NSData *)rgba
                              width:(NSInteger)width
                             height:(NSInteger)height
                               mean:(NSArray<NSNumber *> *)mean
                                std:(NSArray<NSNumber *> *)std
                              error:(NSError **)error
    NS_SWIFT_NAME(tensor(rgba:width:height:mean:std:));

/// CHW float32 -> opaque RGBA8; x stands for the picture value x * std + mean in [0, 1].
+ (nullable NSData *)rgbaFromTensor:(NSData *)chw
                              width:(NSInteger)width
                             height:(NSInteger)height
                               mean:(NSArray<NSNumber *> *)mean
                                std:(NSArray<NSNumber *> *)std
                              error:(NSError **)error
    NS_SWIFT_NAME(rgba(tensor:width:height:mean:std:));

/// RGBA8 pixels -> the Y plane of a luma (super-resolution) model, ((Y / 255) - mean) / std,
/// float32, with JFIF's YCbCr (see Core/inference_core.h).
+ (nullable NSData *)lumaTensorFromRGBA:(NSData *)rgba
                                  width:(NSInteger)width
                                 height:(NSInteger)height
                                   mean:(float)mean
                                    std:(float)std
                                  error:(NSError **)error
    NS_SWIFT_NAME(lumaTensor(rgba:width:height:mean:std:));

/// A luma model's float32 output (outWidth x outHeight, picture value y * std + mean) with the
/// Cb/Cr of the input's RGBA8 pixels upscaled to the output size -> opaque RGBA8.
+ (nullable NSData *)rgbaFromLuma:(NSData *)luma
                            width:(NSInteger)width
                           height:(NSInteger)height
                             mean:(float)mean
                              std:(float)std
                       colorsFrom:(NSData *)inputRGBA
                       inputWidth:(NSInteger)inputWidth
                      inputHeight:(NSInteger)inputHeight
                            error:(NSError **)error
    NS_SWIFT_NAME(rgba(luma:width:height:mean:std:colorsFrom:inputWidth:inputHeight:));

/// A detector's float32 output -> the boxes to show, best first, as float32 rows (x1, y1, x2, y2
/// in model-input pixels, score, label): decoded per `layout` ("yolo" rows of 5 + classes, or
/// "boxes" rows packed from (boxes, scores, labels)), score threshold, then non-maximum
/// suppression as torchvision.ops.nms, at most maxDetections.
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
                              error:(NSError **)error
    NS_SWIFT_NAME(detections(_:layout:classes:normalized:logits:width:height:scoreThreshold:iouThreshold:maxDetections:));

/// Softmax over float32 logits; returns float32 probabilities.
+ (nullable NSData *)softmaxOf:(NSData *)logits error:(NSError **)error NS_SWIFT_NAME(softmax(_:));

/// Indices of the k largest float32 values, largest first.
+ (NSArray<NSNumber *> *)topKOf:(NSData *)values k:(NSInteger)k NS_SWIFT_NAME(topK(_:k:));

/// Per-pixel class of a CHW float32 score map, as int32 values.
+ (nullable NSData *)argmaxOf:(NSData *)scores
                     channels:(NSInteger)channels
                        width:(NSInteger)width
                       height:(NSInteger)height
                        error:(NSError **)error
    NS_SWIFT_NAME(argmax(_:channels:width:height:));

@end

NS_ASSUME_NONNULL_END
