// Objective-C headers visible to ZebraIfy's Swift code (and, through the same build
// setting, to ZebraIfyTests). Only plain Objective-C here: no C++ headers.
#import "ImageCore.h"
#import "TorchModule.h"
