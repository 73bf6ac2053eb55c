// Objective-C face of the shared C++ inference core (Core/inference_core.h), imported into Swift
// through the bridging header; the pixel and output helpers are ImageCore's (ImageCore.h). Plain
// Objective-C on purpose: Swift cannot see C++, so every LibTorch type stays inside
// TorchModule.mm.
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

/// The same for a model whose input is int64 (token ids): `input` holds int64 values in host
/// byte order.
- (nullable TorchOutput *)runWithInt64Input:(NSData *)input
                                      shape:(NSArray<NSNumber *> *)shape
                                      error:(NSError **)error NS_SWIFT_NAME(run(int64Input:shape:));

@end

NS_ASSUME_NONNULL_END
