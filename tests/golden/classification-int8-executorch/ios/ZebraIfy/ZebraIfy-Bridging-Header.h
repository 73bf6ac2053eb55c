// Objective-C headers visible to ZebraIfy's Swift code (and, through the same build
// setting, to ZebraIfyTests). ExecuTorch needs none: `import ExecuTorch` is a Swift module.
#import "ImageCore.h"
