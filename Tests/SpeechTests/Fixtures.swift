import Core
import Foundation
import Testing

/// Paths into the repository's `fixtures/` directory, found from this file's location.
enum Fixtures {
  static let root: URL = {
    var url = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    while !FileManager.default.fileExists(atPath: url.appendingPathComponent("Package.swift").path) {
      url.deleteLastPathComponent()
    }
    return url.appendingPathComponent("fixtures")
  }()

  static func path(_ relative: String) -> String { root.appendingPathComponent(relative).path }
  static func model(_ name: String) -> String { path("models/\(name)") }

  /// A reference file under `fixtures/reference/speech/`.
  static func reference(_ name: String) throws -> SafeTensorsFile {
    try SafeTensorsFile(path: path("reference/speech/\(name).safetensors"))
  }

  /// The 37 s test waveform (float16 in the file, exact in Float).
  static func waveform() throws -> [Float] {
    try reference("waveform").tensor("samples").scalars
  }
}

/// A fresh temporary directory, removed by the caller.
func temporaryDirectory() throws -> URL {
  let url = FileManager.default.temporaryDirectory.appendingPathComponent("speech-\(UUID())")
  try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
  return url
}

/// Largest absolute difference between two equally long arrays.
func maxAbsDifference(_ a: [Float], _ b: [Float]) -> Float {
  precondition(a.count == b.count, "comparing \(a.count) with \(b.count) values")
  var worst: Float = 0
  for (x, y) in zip(a, b) {
    let d = abs(x - y)
    if d.isNaN { return .nan }
    worst = max(worst, d)
  }
  return worst
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
  let worst = maxAbsDifference(actual.scalars, expected.scalars)
  #expect(
    worst <= tolerance, "\(label): max abs diff \(worst) > \(tolerance)", sourceLocation: sourceLocation)
  return worst
}
