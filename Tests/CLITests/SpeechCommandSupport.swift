import Core
import Foundation
import TestSupport
import Testing

/// Fixtures and comparisons shared by the `speech` and `fuse` command tests.
enum SpeechCLI {
  /// `fixtures/reference/speech-e2e/<name>` (written by fixtures/gen_speech_e2e.py).
  static func e2e(_ name: String) -> String { Repository.fixture("reference/speech-e2e/\(name)") }

  static let qwenModel = Repository.fixture("models/qwen2audio-tiny")
  static let whisperModel = Repository.fixture("models/whisper-tiny")
  static let qwenHead = Repository.fixture("models/ctc-head-qwen2audio-tiny")
  static let whisperHead = e2e("ctc-head-whisper-tiny.safetensors")
  static let shortClip = Repository.fixture("media/speech.wav")
  static let longClip = e2e("long_speech.m4a")

  /// Expects `actual` to have `expected`'s shape and float32 values within `tolerance`; returns the
  /// largest absolute difference (reported on failure).
  @discardableResult
  static func expectClose(
    _ actual: NamedArray, _ expected: NamedArray, tolerance: Float, _ label: String,
    sourceLocation: SourceLocation = #_sourceLocation
  ) -> Float {
    guard actual.shape == expected.shape, case .float32(let a) = actual.values,
      case .float32(let b) = expected.values
    else {
      Issue.record(
        "\(label): got \(actual.shape) \(actual.values.dtypeName), expected \(expected.shape) \(expected.values.dtypeName)",
        sourceLocation: sourceLocation)
      return .infinity
    }
    let worst = maxAbsDifference(a, b)
    #expect(worst <= tolerance, "\(label): max abs diff \(worst) > \(tolerance)", sourceLocation: sourceLocation)
    return worst
  }

  /// Expects identical shape, dtype and values (integer spans, and span times computed the same way).
  static func expectIdentical(
    _ actual: NamedArray, _ expected: NamedArray, _ label: String,
    sourceLocation: SourceLocation = #_sourceLocation
  ) {
    #expect(actual.shape == expected.shape, "\(label): shape \(actual.shape), expected \(expected.shape)", sourceLocation: sourceLocation)
    #expect(actual.values == expected.values, "\(label): values differ", sourceLocation: sourceLocation)
  }

  /// The lines a run printed on stderr.
  static func lines(_ text: String) -> [Substring] { text.split(separator: "\n") }
}

private extension ArrayValues {
  var dtypeName: String {
    switch self {
    case .float32: "float32"
    case .float64: "float64"
    case .int64: "int64"
    }
  }
}
