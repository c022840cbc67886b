import Foundation

/// Layer normalization over the last axis, as `torch.nn.LayerNorm`.
///
/// - `x`: `[..., C]`; `weight`, `bias`: `[C]`.
/// - Returns `[..., C]`: `(x - mean) / sqrt(var + eps) * weight + bias`, with the biased variance.
public func layerNorm(_ x: Tensor, weight: Tensor, bias: Tensor, eps: Float) -> Tensor {
  let c = x.shape.last ?? 0
  precondition(weight.shape == [c] && bias.shape == [c], "layerNorm: \(x.shape) vs \(weight.shape)")
  let rows = c == 0 ? 0 : x.count / c
  return x.scalars.withUnsafeBufferPointer { px in
    weight.scalars.withUnsafeBufferPointer { pw in
      bias.scalars.withUnsafeBufferPointer { pb in
        Tensor(uninitializedShape: x.shape) { py in
          for r in 0..<rows {
            let row = px.baseAddress! + r * c
            let out = py.baseAddress! + r * c
            // Two passes (mean, then centred squares) keep the variance exact for rows whose
            // mean is large next to their spread.
            var sum: Float = 0
            for i in 0..<c { sum += row[i] }
            let mean = sum / Float(c)
            var squares: Float = 0
            for i in 0..<c {
              let d = row[i] - mean
              squares += d * d
            }
            let inv = 1 / (squares / Float(c) + eps).squareRoot()
            for i in 0..<c { out[i] = (row[i] - mean) * inv * pw[i] + pb[i] }
          }
        }
      }
    }
  }
}

/// Softmax over the last axis, stable for large inputs (the row maximum is subtracted first).
///
/// `-infinity` entries get probability 0; a row that is entirely `-infinity` becomes all zeros
/// rather than NaN.
public func softmax(_ x: Tensor) -> Tensor {
  var y = x
  let c = x.shape.last ?? 0
  if c == 0 { return y }
  y.scalars.withUnsafeMutableBufferPointer { p in
    for r in 0..<(p.count / c) { softmaxInPlace(p.baseAddress! + r * c, count: c) }
  }
  return y
}

/// Softmax of `count` contiguous values in place (see ``softmax(_:)``).
package func softmaxInPlace(_ row: UnsafeMutablePointer<Float>, count: Int) {
  var maximum = -Float.infinity
  for i in 0..<count { maximum = max(maximum, row[i]) }
  if maximum == -.infinity {
    row.update(repeating: 0, count: count)
    return
  }
  var sum: Float = 0
  for i in 0..<count {
    let e = expf(row[i] - maximum)
    row[i] = e
    sum += e
  }
  let inv = 1 / sum
  for i in 0..<count { row[i] *= inv }
}

/// GELU with the exact erf form: `x * (1 + erf(x / sqrt(2))) / 2` (PyTorch's default `gelu`).
public func gelu(_ x: Tensor) -> Tensor { map(x, geluScalar) }

/// CLIP's quick GELU: `x * sigmoid(1.702 x)`.
public func quickGelu(_ x: Tensor) -> Tensor { map(x, quickGeluScalar) }

@inline(__always) package func geluScalar(_ v: Float) -> Float {
  0.5 * v * (1 + erff(v * 0.70710678118654752440))
}

@inline(__always) package func quickGeluScalar(_ v: Float) -> Float {
  v / (1 + expf(-1.702 * v))
}

/// Elementwise sum of two tensors of the same shape.
public func add(_ a: Tensor, _ b: Tensor) -> Tensor {
  precondition(a.shape == b.shape, "add: \(a.shape) vs \(b.shape)")
  var y = a
  y.scalars.withUnsafeMutableBufferPointer { py in
    b.scalars.withUnsafeBufferPointer { pb in
      for i in 0..<py.count { py[i] += pb[i] }
    }
  }
  return y
}

private func map(_ x: Tensor, _ f: (Float) -> Float) -> Tensor {
  var y = x
  y.scalars.withUnsafeMutableBufferPointer { p in
    for i in 0..<p.count { p[i] = f(p[i]) }
  }
  return y
}
