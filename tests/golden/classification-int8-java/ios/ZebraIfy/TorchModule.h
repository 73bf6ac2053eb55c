// Objective-C face of the shared C++ inference core (Core/inference_core.h), imported into Swift
// through the bridging header. Plain Objective-C on purpose: Swift cannot see C++, so every
// LibTorch type stays inside TorchModule.mm.
#import <Foundation/Foundation.h>

NS_ASSUME_NONNULL_BEGIN

/// The first output tensor of one forward() call.
@interface TorchOutput : NSObject
/// float32 values in host byte order, contiguous in `shape` order.
@property(nonatomic, readonly) NSData *values;
@property(nonatomic, readonly) NSArray<NSNumber *> *shape;
- (instancetype)init NS_UNAVAILABLE;
@end

@interface TorchModule : NSObject

/// Loads a lite-interpreter model (.ptl). Fails with the core's message when the file is
/// missing or was exported for an incompatible runtime.
- (nullable instancetype)initWithFileAtPath:(NSString *)path
                                      error:(NSError **)error NS_SWIFT_NAME(init(fileAtPath:))
    NS_DESIGNATED_INITIALIZER;
- (instancetype)init NS_UNAVAILABLE;

/// The "scaffold.json" metadata embedded in the model, or an empty string.
@property(nonatomic, readonly) NSString *metadata;

/// YES while the core runs on Metal (builds with SCAFFOLD_USE_METAL, see the Podfile).
@property(nonatomic, readonly) BOOL usesGPU;

/// Runs forward() on float32 `input` (host byte order) of the given shape. Thread-safe: the
/// core serializes calls.
- (nullable TorchOutput *)runWithInput:(NSData *)input
                                 shape:(NSArray<NSNumber *> *)shape
                                 error:(NSError **)error NS_SWIFT_NAME(run(input:shape:));

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
