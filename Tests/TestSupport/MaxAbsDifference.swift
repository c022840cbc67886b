import Core

/// The largest `|a[i] - b[i]|`, for checking a result against a tolerance and reporting how close
/// it came. Equal values (equal infinities included) and two NaNs differ by 0; a NaN on one side
/// only makes the result NaN, and different counts make it `.infinity`, so neither can pass a
/// `<= tolerance` check.
package func maxAbsDifference(_ a: [Float], _ b: [Float]) -> Float {
  guard a.count == b.count else { return .infinity }
  var largest: Float = 0
  for (x, y) in zip(a, b) where x != y && !(x.isNaN && y.isNaN) {
    let difference = abs(x - y)
    if difference.isNaN { return .nan }
    largest = max(largest, difference)
  }
  return largest
}

/// The largest elementwise `|a - b|` as for arrays; `.infinity` when the shapes differ.
package func maxAbsDifference(_ a: Tensor, _ b: Tensor) -> Float {
  guard a.shape == b.shape else { return .infinity }
  return maxAbsDifference(a.scalars, b.scalars)
}
