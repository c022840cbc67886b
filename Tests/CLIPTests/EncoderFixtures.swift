import CLIP
import Core
import Foundation
import TestSupport
import Testing

/// The CLIP encoder fixtures written by `fixtures/gen_clip.py`: tiny checkpoints under
/// `fixtures/models/` and transformers' outputs for them under `fixtures/reference/clip/`.
enum EncoderFixtures {
  /// The two `CLIPModel` checkpoints (different shapes, activations, eos conventions).
  static let dualModels = ["clip-tiny-a", "clip-tiny-b"]
  /// `CLIPTextModelWithProjection` holding clip-tiny-b's text tower.
  static let textOnlyModel = "clip-tiny-text-proj"
  /// `CLIPVisionModelWithProjection` holding clip-tiny-a's vision tower.
  static let visionOnlyModel = "clip-tiny-vision-proj"

  /// The absolute tolerance of every comparison with transformers: the bar. Both sides
  /// compute in float32 from the same float16-rounded weights, so only summation order differs
  /// (observed differences are around 1e-6).
  static let tolerance: Float = 1e-4

  static func model(_ name: String) -> String { Repository.fixture("models/\(name)") }

  static func reference(_ name: String) throws -> SafeTensorsFile {
    try SafeTensorsFile(path: Repository.fixture("reference/clip/\(name).safetensors"))
  }

  /// The reference's int64 `[N, T]` array `name` as rows of ids.
  static func rows(_ file: SafeTensorsFile, _ name: String) throws -> [[Int]] {
    let array = try file.array(name)
    guard case .int64(let values) = array.values, array.shape.count == 2 else {
      throw CLIPError.invalidInput(reason: "\(name) is not an int64 matrix")
    }
    let width = array.shape[1]
    return (0..<array.shape[0]).map { r in values[(r * width)..<((r + 1) * width)].map { Int($0) } }
  }
}

/// Expects `actual` to match the reference tensor `name` within the fixture tolerance, and prints
/// the difference so test logs record how close each output is.
func expectMatchesReference(
  _ actual: Tensor, _ reference: SafeTensorsFile, _ name: String, label: String,
  sourceLocation: SourceLocation = #_sourceLocation
) throws {
  let expected = try reference.tensor(name)
  #expect(actual.shape == expected.shape, "\(label) \(name): shape", sourceLocation: sourceLocation)
  let difference = maxAbsDifference(actual, expected)
  print("\(label) \(name): max abs diff \(difference)")
  #expect(
    difference <= EncoderFixtures.tolerance,
    "\(label) \(name): max abs diff \(difference) > \(EncoderFixtures.tolerance)",
    sourceLocation: sourceLocation)
}
