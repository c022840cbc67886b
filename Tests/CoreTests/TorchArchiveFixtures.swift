import Core
import Foundation
import TestSupport
import Testing

/// Files made by fixtures/gen_torch_archive.py.
enum TorchFixtures {
  /// `fixtures/torch` in the repository (found from this file's path).
  static let directory = Repository.fixtures.appendingPathComponent("torch")

  static func path(_ name: String) -> String { directory.appendingPathComponent(name).path }

  /// Archives that all hold the state dict of `state_dict_reference.safetensors`.
  static let readable = [
    "state_dict.pt", "state_dict_protocol4.pt", "state_dict_plain_dict.pt", "state_dict_big_endian.pt",
    "state_dict_deflated.pt",
  ]

  /// What torch.load returned for state_dict.pt, as contiguous copies (fp16 / bf16 widened by torch).
  static func reference() throws -> SafeTensorsFile {
    try SafeTensorsFile(path: path("state_dict_reference.safetensors"))
  }

  /// The `WeightError.malformed` reason thrown by `body`, or nil if it threw something else or nothing.
  static func malformedReason(_ body: () throws -> Void) -> String? {
    do {
      try body()
    } catch WeightError.malformed(_, let reason) {
      return reason
    } catch {
      return nil
    }
    return nil
  }
}

/// Records a failure unless `actual` has the same shape and bit patterns as `expected`; bit
/// patterns (not ==) so that NaN payloads, -0 and infinities count.
func expectBitIdentical(_ actual: Tensor, _ expected: Tensor, _ name: String, sourceLocation: SourceLocation = #_sourceLocation) {
  #expect(actual.shape == expected.shape, "\(name): shape", sourceLocation: sourceLocation)
  guard actual.shape == expected.shape else { return }
  let mismatches = zip(actual.scalars, expected.scalars).enumerated().filter { $0.1.0.bitPattern != $0.1.1.bitPattern }
  let maxDifference = zip(actual.scalars, expected.scalars).map { abs($0 - $1) }.filter { !$0.isNaN }.max() ?? 0
  #expect(
    mismatches.isEmpty,
    "\(name): \(mismatches.count) elements differ in bits, max abs diff \(maxDifference), first at \(mismatches.first.map { "\($0.0): \($0.1.0) vs \($0.1.1)" } ?? "")",
    sourceLocation: sourceLocation)
}
