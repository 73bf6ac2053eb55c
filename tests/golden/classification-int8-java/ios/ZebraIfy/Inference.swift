import UIKit

/// What scaffold knew about the model when it generated this app; the model file embeds the
/// same values as metadata, and the unit tests check that the two agree.
enum ModelSpec {
    static let task = "classification"
    static let modelFile = "model.ptl"
    static let sampleFile = "sample.png"
    static let inputWidth = 8
    static let inputHeight = 8
    static let mean: [Float] = [0.485, 0.456, 0.406]
    static let std: [Float] = [0.229, 0.224, 0.225]
    /// The output y stands for the picture value y * outputStd + outputMean in [0, 1].
    static let outputMean: [Float] = [0.0, 0.0, 0.0]
    static let outputStd: [Float] = [1.0, 1.0, 1.0]
    static let outputShape: [Int] = [1, 3]
    // Labels and palette are read from the metadata only: thousands of classes do not belong in source.
    /// 3: RGB planes; 1: the Y plane of YCbCr (a luma super-resolution model).
    static let inputChannels = 3
}

/// The "scaffold.json" metadata embedded in the model.
struct ScaffoldMetadata: Decodable {
    struct Input: Decodable {
        let width: Int
        let height: Int
        let mean: [Float]
        let std: [Float]
        /// Since format 2; absent means 3.
        let channels: Int?
    }

    struct Output: Decodable {
        let shape: [Int]
        let range: [Float]?
    }

    let format: Int
    let task: String
    let input: Input
    let output: Output
    let labels: [String]
    let palette: [[Int]]
    /// Since format 2, detection models only.
    let detection: Detection?

    struct Detection: Decodable {
        let layout: String
        let boxUnits: String
        let scores: String
        let scoreThreshold: Double
        let iouThreshold: Double
        let maxDetections: Int

        enum CodingKeys: String, CodingKey {
            case layout, scores
            case boxUnits = "box_units"
            case scoreThreshold = "score_threshold"
            case iouThreshold = "iou_threshold"
            case maxDetections = "max_detections"
        }
    }
}

enum InferenceError: LocalizedError {
    case missingResource(String)
    case unreadableImage

    var errorDescription: String? {
        switch self {
        case .missingResource(let name):
            return "\(name) is missing from the app bundle"
        case .unreadableImage:
            return "The picture could not be converted to RGBA pixels"
        }
    }
}

/// UIImage <-> RGBA8 bytes (sRGB, straight alpha), the format the C++ core reads and writes.
enum PixelBuffer {
    /// Scales the picture to fill width x height (center crop, orientation applied).
    static func rgba(from image: UIImage, width: Int, height: Int) -> Data? {
        guard let cgImage = upright(image).cgImage,
              let space = CGColorSpace(name: CGColorSpace.sRGB) else { return nil }
        // Opaque pictures (camera, the sample) go through noneSkipLast: no alpha, so no
        // premultiplication and the bytes are exactly the file's. Core Graphics cannot draw into
        // straight-alpha contexts, so pictures with transparency are drawn premultiplied and
        // divided back below, as Android's Bitmap.getPixels reports them.
        let opaqueKinds: [CGImageAlphaInfo] = [.none, .noneSkipFirst, .noneSkipLast]
        let opaque = opaqueKinds.contains(cgImage.alphaInfo)
        let alphaInfo: CGImageAlphaInfo = opaque ? .noneSkipLast : .premultipliedLast
        var bytes = [UInt8](repeating: 0, count: width * height * 4)
        let drawn = bytes.withUnsafeMutableBytes { buffer -> Bool in
            guard let context = CGContext(
                data: buffer.baseAddress, width: width, height: height, bitsPerComponent: 8,
                bytesPerRow: width * 4, space: space, bitmapInfo: alphaInfo.rawValue
            ) else { return false }
            context.interpolationQuality = .high
            context.draw(cgImage, in: fillRect(cgImage, width: width, height: height))
            return true
        }
        guard drawn else { return nil }
        for i in stride(from: 0, to: bytes.count, by: 4) {
            let alpha = Int(bytes[i + 3])
            if opaque {
                bytes[i + 3] = 255
            } else if alpha > 0 && alpha < 255 {
                for c in 0..<3 {
                    bytes[i + c] = UInt8(min(255, (Int(bytes[i + c]) * 255 + alpha / 2) / alpha))
                }
            }
        }
        return Data(bytes)
    }

    static func image(rgba: Data, width: Int, height: Int) -> UIImage? {
        guard let provider = CGDataProvider(data: rgba as CFData),
              let space = CGColorSpace(name: CGColorSpace.sRGB),
              let cgImage = CGImage(
                  width: width, height: height, bitsPerComponent: 8, bitsPerPixel: 32,
                  bytesPerRow: width * 4, space: space,
                  bitmapInfo: CGBitmapInfo(rawValue: CGImageAlphaInfo.noneSkipLast.rawValue),
                  provider: provider, decode: nil, shouldInterpolate: false, intent: .defaultIntent
              ) else { return nil }
        return UIImage(cgImage: cgImage)
    }

    /// Camera pictures carry their rotation as metadata; CGImage does not.
    private static func upright(_ image: UIImage) -> UIImage {
        if image.imageOrientation == .up { return image }
        let format = UIGraphicsImageRendererFormat()
        format.scale = image.scale
        format.preferredRange = .standard  // 8-bit sRGB, not extended-range P3
        return UIGraphicsImageRenderer(size: image.size, format: format).image { _ in
            image.draw(in: CGRect(origin: .zero, size: image.size))
        }
    }

    private static func fillRect(_ image: CGImage, width: Int, height: Int) -> CGRect {
        let scale = max(Double(width) / Double(image.width), Double(height) / Double(image.height))
        let drawWidth = Double(image.width) * scale
        let drawHeight = Double(image.height) * scale
        return CGRect(x: (Double(width) - drawWidth) / 2, y: (Double(height) - drawHeight) / 2,
                      width: drawWidth, height: drawHeight)
    }
}

extension Data {
    /// float32 values in host byte order (the bridge's format).
    func floats() -> [Float] {
        withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
    }

    /// float32 little-endian values (the generator's files).
    func littleEndianFloats() -> [Float] {
        withUnsafeBytes { raw in
            (0..<(count / 4)).map { i in
                Float(bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: i * 4, as: UInt32.self)))
            }
        }
    }
}

struct Score: Identifiable {
    let id: Int
    let label: String
    let probability: Float
}

/// One box to show, in model-input pixels.
struct DetectedBox: Identifiable {
    let id: Int
    let rect: CGRect
    let score: Float
    let label: String
    let classIndex: Int
}

struct Prediction {
    let output: [Float]
    let shape: [Int]
    let milliseconds: Double
    let usedGPU: Bool
    let top: [Score]

    var summary: String {
        let finite = output.filter { $0.isFinite }
        let low = finite.min() ?? .nan
        let high = finite.max() ?? .nan
        let average = finite.isEmpty ? Float.nan : finite.reduce(0, +) / Float(finite.count)
        let head = output.prefix(6).map { String(format: "%.4f", $0) }.joined(separator: ", ")
        return "shape \(shape)\nmin \(low)  max \(high)  mean \(average)\nfirst values [\(head)]"
    }
}

/// The model plus the app's pre- and post-processing; not thread-safe, use it from one queue.
final class Predictor {
    let metadata: ScaffoldMetadata?
    private let module: TorchModule

    init(modelURL: URL) throws {
        module = try TorchModule(fileAtPath: modelURL.path)
        metadata = try? JSONDecoder().decode(ScaffoldMetadata.self, from: Data(module.metadata.utf8))
    }

    static func bundled() throws -> Predictor {
        let name = (ModelSpec.modelFile as NSString).deletingPathExtension
        let ext = (ModelSpec.modelFile as NSString).pathExtension
        guard let url = Bundle.main.url(forResource: name, withExtension: ext) else {
            throw InferenceError.missingResource(ModelSpec.modelFile)
        }
        return try Predictor(modelURL: url)
    }

    /// RGBA8 pixels of the input size -> the model's first output tensor.
    func run(rgba: Data) throws -> (output: [Float], shape: [Int], milliseconds: Double) {
        let luma = ModelSpec.inputChannels == 1
        // One `try` for the whole conditional: Swift rejects `try` right of the `?:` operator.
        let input = try luma
            ? ImageCore.lumaTensor(
                rgba: rgba, width: ModelSpec.inputWidth, height: ModelSpec.inputHeight,
                mean: ModelSpec.mean[0], std: ModelSpec.std[0])
            : ImageCore.tensor(
                rgba: rgba, width: ModelSpec.inputWidth, height: ModelSpec.inputHeight,
                mean: ModelSpec.mean.map { NSNumber(value: $0) }, std: ModelSpec.std.map { NSNumber(value: $0) })
        let channels = NSNumber(value: ModelSpec.inputChannels)
        let shape: [NSNumber] = [1, channels, NSNumber(value: ModelSpec.inputHeight), NSNumber(value: ModelSpec.inputWidth)]
        let start = DispatchTime.now()
        let result = try module.run(input: input, shape: shape)
        let elapsed = Double(DispatchTime.now().uptimeNanoseconds - start.uptimeNanoseconds) / 1_000_000
        return (result.values.floats(), result.shape.map { $0.intValue }, elapsed)
    }

    func predict(_ image: UIImage) throws -> Prediction {
        guard let rgba = PixelBuffer.rgba(from: image, width: ModelSpec.inputWidth, height: ModelSpec.inputHeight) else {
            throw InferenceError.unreadableImage
        }
        let (output, shape, milliseconds) = try run(rgba: rgba)
        let probabilities = try ImageCore.softmax(floatData(output)).floats()
        let labels = metadata?.labels ?? []
        let top = ImageCore.topK(floatData(probabilities), k: 5).map { index -> Score in
            let i = index.intValue
            return Score(id: i, label: i < labels.count ? labels[i] : "class \(i)", probability: probabilities[i])
        }
        return Prediction(output: output, shape: shape, milliseconds: milliseconds, usedGPU: module.usesGPU, top: top)
    }

    private func floatData(_ values: [Float]) -> Data {
        values.withUnsafeBufferPointer { Data(buffer: $0) }
    }
}

/// Runs the model off the main thread and publishes results for the UI.
final class InferenceViewModel: ObservableObject {
    @Published var input: UIImage?
    @Published var prediction: Prediction?
    @Published var errorMessage: String?
    @Published var isRunning = false

    private let queue = DispatchQueue(label: "inference", qos: .userInitiated)
    private var predictor: Result<Predictor, Error>?

    func run(on image: UIImage) {
        start(showing: image) { try $0.predict(image) }
    }

    /// Publishes `image` as the input and the outcome of `work` on the loaded predictor.
    private func start(showing image: UIImage?, _ work: @escaping (Predictor) throws -> Prediction) {
        input = image
        prediction = nil
        errorMessage = nil
        isRunning = true
        queue.async { [weak self] in
            guard let self = self else { return }
            let outcome = Result { try work(self.loadedPredictor()) }
            DispatchQueue.main.async {
                self.isRunning = false
                switch outcome {
                case .success(let prediction):
                    self.prediction = prediction
                case .failure(let error):
                    self.errorMessage = error.localizedDescription
                }
            }
        }
    }

    func runSample() {
        let name = (ModelSpec.sampleFile as NSString).deletingPathExtension
        let ext = (ModelSpec.sampleFile as NSString).pathExtension
        guard let url = Bundle.main.url(forResource: name, withExtension: ext),
              let image = UIImage(contentsOfFile: url.path) else {
            errorMessage = InferenceError.missingResource(ModelSpec.sampleFile).localizedDescription
            return
        }
        run(on: image)
    }

    /// Loading takes a moment, so it happens on the inference queue, once.
    private func loadedPredictor() throws -> Predictor {
        if predictor == nil {
            predictor = Result { try Predictor.bundled() }
        }
        return try predictor!.get()
    }
}
