import Core
import Foundation
import Testing

/// SplitMix64: a tiny seeded generator, so every random test input is the same on every run.
struct SeededGenerator: RandomNumberGenerator {
  private var state: UInt64
  init(seed: UInt64) { state = seed }

  mutating func next() -> UInt64 {
    state &+= 0x9E37_79B9_7F4A_7C15
    var z = state
    z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
    z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
    return z ^ (z >> 31)
  }
}

/// A tensor of `shape` with values uniform in `range`, fixed by `seed`.
func randomTensor(_ shape: [Int], seed: UInt64, in range: ClosedRange<Float> = -1...1) -> Tensor {
  var generator = SeededGenerator(seed: seed)
  return Tensor(
    shape: shape,
    scalars: (0..<shape.reduce(1, *)).map { _ in Float.random(in: range, using: &generator) })
}

/// Expects equal shapes and `|actual - expected| <= atol + rtol * |expected|` everywhere (equal
/// infinities and both-NaN count as equal). On failure the message gives the largest difference,
/// where it is, and the tolerance there.
func expectClose(
  _ actual: Tensor, _ expected: Tensor, atol: Float, rtol: Float, _ what: String = "",
  sourceLocation: SourceLocation = #_sourceLocation
) {
  guard actual.shape == expected.shape else {
    Issue.record(
      "\(what): shape \(actual.shape), expected \(expected.shape)", sourceLocation: sourceLocation)
    return
  }
  var worst: (index: Int, excess: Float)? = nil
  var maxAbsDiff: Float = 0
  for (i, (a, e)) in zip(actual.scalars, expected.scalars).enumerated() {
    if a == e || (a.isNaN && e.isNaN) { continue }
    let diff = abs(a - e)
    maxAbsDiff = max(maxAbsDiff, diff.isNaN ? .infinity : diff)
    let excess = diff.isNaN ? .infinity : diff / (atol + rtol * abs(e))
    if excess > 1 && excess > (worst?.excess ?? 0) { worst = (i, excess) }
  }
  if let worst {
    let (a, e) = (actual.scalars[worst.index], expected.scalars[worst.index])
    Issue.record(
      """
      \(what): max abs diff \(maxAbsDiff); worst at flat index \(worst.index) of \(actual.shape): \
      got \(a), expected \(e), tolerance \(atol + rtol * abs(e)) (atol \(atol), rtol \(rtol))
      """, sourceLocation: sourceLocation)
  }
}

/// The largest `|actual - expected|`, for tests that also want to report how close they came.
func maxAbsDifference(_ actual: Tensor, _ expected: Tensor) -> Float {
  zip(actual.scalars, expected.scalars).reduce(0) { max($0, abs($1.0 - $1.1)) }
}
