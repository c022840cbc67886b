import Core
import Foundation
import TestSupport
import Testing

/// The speech fixtures: checkpoints under `fixtures/models/` and references under `fixtures/reference/speech/`.
enum Fixtures {
  static func model(_ name: String) -> String { Repository.fixture("models/\(name)") }

  /// A reference file under `fixtures/reference/speech/`.
  static func reference(_ name: String) throws -> SafeTensorsFile {
    try SafeTensorsFile(path: Repository.fixture("reference/speech/\(name).safetensors"))
  }

  /// The 37 s test waveform (float16 in the file, exact in Float).
  static func waveform() throws -> [Float] {
    try reference("waveform").tensor("samples").scalars
  }
}

/// Expects `actual` to have `expected`'s shape and values within `tolerance`, naming `label`
/// and the largest difference on failure. Returns the largest difference.
@discardableResult
func expectClose(
  _ actual: Tensor, _ expected: Tensor, tolerance: Float, _ label: String,
  sourceLocation: SourceLocation = #_sourceLocation
) -> Float {
  guard actual.shape == expected.shape else {
    Issue.record("\(label): shape \(actual.shape), expected \(expected.shape)", sourceLocation: sourceLocation)
    return .infinity
  }
  let worst = maxAbsDifference(actual, expected)
  #expect(
    worst <= tolerance, "\(label): max abs diff \(worst) > \(tolerance)", sourceLocation: sourceLocation)
  return worst
}
