import UIKit
import XCTest
@testable import ZebraIfy

/// Proves on the simulator that the app computes what Python computed: the bundled sample goes
/// through the app's own RGBA path and the C++ core, and must land within 0.0478739 +
/// 1e-05 x |value| (as numpy.allclose) of the expected output scaffold wrote next to these tests.
final class InferenceTests: XCTestCase {
    /// Why the tolerance is 0.0478739 (scaffold.toml, [model.quantization] device_tolerance).
    private let toleranceReason = "output_step, one quantization step of the int8 output (the scale of its last dequantize): the phones' int8 kernels may round the last requantization differently"

    private func resourceURL(_ fileName: String, in bundle: Bundle) throws -> URL {
        let name = (fileName as NSString).deletingPathExtension
        let ext = (fileName as NSString).pathExtension
        return try XCTUnwrap(bundle.url(forResource: name, withExtension: ext), "\(fileName) is not in \(bundle.bundlePath)")
    }

    private func bundledPredictor() throws -> Predictor {
        // Hosted tests run inside the app, so Bundle.main is the app bundle.
        try Predictor(modelURL: resourceURL("model.ptl", in: .main))
    }

    func testSampleMatchesExpectedOutput() throws {
        let predictor = try bundledPredictor()
        let sample = try XCTUnwrap(UIImage(contentsOfFile: resourceURL("sample.png", in: .main).path))
        let rgba = try XCTUnwrap(PixelBuffer.rgba(from: sample, width: ModelSpec.inputWidth, height: ModelSpec.inputHeight))
        let result = try predictor.run(rgba: rgba)

        let expectedURL = try resourceURL("expected_output.bin", in: Bundle(for: InferenceTests.self))
        let expected = try Data(contentsOf: expectedURL).littleEndianFloats()
        XCTAssertEqual(result.output.count, expected.count, "output size differs from expected_output.bin")
        XCTAssertEqual(result.shape, ModelSpec.outputShape)

        // The worst value is the one furthest beyond its own allowance.
        var worst = -Double.infinity
        var worstIndex = -1
        for (i, (actual, wanted)) in zip(result.output, expected).enumerated() {
            let excess = abs(Double(actual) - Double(wanted)) - (0.0478739 + 1e-05 * abs(Double(wanted)))
            // NaN must fail the test, and every comparison with NaN is false.
            if !(excess <= worst) {
                worst = excess.isNaN ? .infinity : excess
                worstIndex = i
            }
        }
        XCTAssertLessThanOrEqual(worst, 0, "error beyond the tolerance at index \(worstIndex); tolerance 0.0478739 is \(toleranceReason)")
    }

    func testMetadataMatchesTheApp() throws {
        let predictor = try bundledPredictor()
        let metadata = try XCTUnwrap(predictor.metadata, "the model has no readable scaffold.json")
        XCTAssertEqual(metadata.format, 2)
        XCTAssertEqual(metadata.task, ModelSpec.task)
        XCTAssertEqual(metadata.input.width, ModelSpec.inputWidth)
        XCTAssertEqual(metadata.input.height, ModelSpec.inputHeight)
        XCTAssertEqual(metadata.input.channels ?? 3, ModelSpec.inputChannels)
        // JSON and Swift literals may round a decimal to Float differently in the last bit.
        XCTAssertEqual(metadata.input.mean.count, 3)
        XCTAssertEqual(metadata.input.std.count, 3)
        for (decoded, rendered) in zip(metadata.input.mean + metadata.input.std, ModelSpec.mean + ModelSpec.std) {
            XCTAssertEqual(decoded, rendered, accuracy: 1e-6)
        }
        XCTAssertEqual(metadata.output.shape, ModelSpec.outputShape)
    }

    func testPixelConversionRoundTrips() throws {
        // Every 8-bit level through rgbaToChw and back must come out unchanged.
        let levels = (0..<256).flatMap { v -> [UInt8] in [UInt8(v), UInt8(255 - v), UInt8(v / 2), 255] }
        let zero: [NSNumber] = [0, 0, 0]
        let one: [NSNumber] = [1, 1, 1]
        let chw = try ImageCore.tensor(rgba: Data(levels), width: 16, height: 16, mean: zero, std: one)
        let back = try ImageCore.rgba(tensor: chw, width: 16, height: 16, mean: zero, std: one)
        XCTAssertEqual([UInt8](back), levels)
    }

    func testBrokenModelThrows() {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("not-a-model.ptl")
        XCTAssertNoThrow(try Data("not a model".utf8).write(to: url))
        XCTAssertThrowsError(try Predictor(modelURL: url))
    }
}
