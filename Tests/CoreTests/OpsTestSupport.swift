import Core
import Foundation
import TestSupport
import Testing

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
