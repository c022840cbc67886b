/// Layer normalization over the last axis, as `torch.nn.LayerNorm`.
///
/// - `x`: `[..., C]`; `weight`, `bias`: `[C]`.
/// - Returns `[..., C]`: `(x - mean) / sqrt(var + eps) * weight + bias`, with the biased variance.
public func layerNorm(_ x: Tensor, weight: Tensor, bias: Tensor, eps: Float) -> Tensor {
  let c = x.shape.last ?? 0
  precondition(weight.shape == [c] && bias.shape == [c], "layerNorm: \(x.shape) vs \(weight.shape)")
  let rows = c == 0 ? 0 : x.count / c
  if rows == 0 { return x }
  return x.scalars.withUnsafeBufferPointer { px in
    weight.scalars.withUnsafeBufferPointer { pw in
      bias.scalars.withUnsafeBufferPointer { pb in
        Tensor(uninitializedShape: x.shape) { py in
          let (x, w, b, y) = (px.baseAddress!, pw.baseAddress!, pb.baseAddress!, py.baseAddress!)
          Threads.parallelFor(rows, grain: grain(elementsPerItem: c)) { range in
            for r in range { normalizeRow(x + r * c, into: y + r * c, count: c, w, b, eps) }
          }
        }
      }
    }
  }
}

private func normalizeRow(
  _ x: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>, count c: Int,
  _ weight: UnsafePointer<Float>, _ bias: UnsafePointer<Float>, _ eps: Float
) {
  // Two passes (mean, then centred squares) keep the variance exact for rows whose mean is large
  // next to their spread.
  let mean = sum(x, count: c) { $0 } / Float(c)
  let variance = sum(x, count: c) { ($0 - mean) * ($0 - mean) } / Float(c)
  let inv = 1 / (variance + eps).squareRoot()
  let width = FloatVector.scalarCount
  var i = 0
  while i + width <= c {
    let v = (FloatVector(loading: x + i) - mean) * inv
    (v * FloatVector(loading: weight + i) + FloatVector(loading: bias + i)).store(to: y + i)
    i += width
  }
  while i < c {
    y[i] = (x[i] - mean) * inv * weight[i] + bias[i]
    i += 1
  }
}

/// Sum of `f` over `count` floats, kept in one partial sum per vector lane (so rounding error
/// grows with `count / lanes` terms rather than `count`).
@inline(__always) private func sum(
  _ x: UnsafePointer<Float>, count: Int, _ f: (FloatVector) -> FloatVector
) -> Float {
  var lanes = FloatVector()
  let width = FloatVector.scalarCount
  var i = 0
  while i + width <= count {
    lanes += f(FloatVector(loading: x + i))
    i += width
  }
  if i < count {
    // Padding lanes are zero going in; mask them out after `f` in case f(0) != 0.
    var tail = f(FloatVector(loading: x + i, count: count - i))
    for lane in (count - i)..<width { tail[lane] = 0 }
    lanes += tail
  }
  return lanes.sum()
}

/// Softmax over the last axis, stable for large inputs (the row maximum is subtracted first).
///
/// `-infinity` entries get probability 0; a row that is entirely `-infinity` becomes all zeros
/// rather than NaN.
public func softmax(_ x: Tensor) -> Tensor {
  var y = x
  let c = x.shape.last ?? 0
  if x.count == 0 { return y }
  y.scalars.withUnsafeMutableBufferPointer { p in
    let base = p.baseAddress!
    Threads.parallelFor(p.count / c, grain: grain(elementsPerItem: c)) { range in
      for r in range { softmaxInPlace(base + r * c, count: c) }
    }
  }
  return y
}

/// Softmax of `count` contiguous values in place (see ``softmax(_:)``).
package func softmaxInPlace(_ row: UnsafeMutablePointer<Float>, count: Int) {
  let width = FloatVector.scalarCount
  // Comparisons and selects rather than `pointwiseMax`/`max()`, whose NaN handling the compiler
  // does not vectorize.
  var lanes = FloatVector(repeating: -.infinity)
  var i = 0
  while i + width <= count {
    let v = FloatVector(loading: row + i)
    lanes.replace(with: v, where: v .> lanes)
    i += width
  }
  var maximum = -Float.infinity
  for lane in 0..<width where lanes[lane] > maximum { maximum = lanes[lane] }
  for j in i..<count where row[j] > maximum { maximum = row[j] }
  if maximum == -.infinity {
    row.update(repeating: 0, count: count)
    return
  }
  var sums = FloatVector()
  i = 0
  while i + width <= count {
    let e = exp(FloatVector(loading: row + i) - maximum)
    e.store(to: row + i)
    sums += e
    i += width
  }
  var tail: Float = 0
  if i < count {
    let e = exp(FloatVector(loading: row + i, count: count - i) - maximum)
    e.store(to: row + i, count: count - i)
    for lane in 0..<(count - i) { tail += e[lane] }
  }
  let inv = 1 / (sums.sum() + tail)
  mapVectors(row, row, count: count) { $0 * inv }
}

/// GELU with the exact erf form: `x * (1 + erf(x / sqrt(2))) / 2` (PyTorch's default `gelu`).
///
/// Computed as `x * erfc(-x / sqrt(2)) / 2`, the same function, which stays accurate in the
/// negative tail.
public func gelu(_ x: Tensor) -> Tensor {
  map(x) { v in 0.5 * v * erfc(v * -0.70710678118654752440) }
}

/// CLIP's quick GELU: `x * sigmoid(1.702 x)`.
public func quickGelu(_ x: Tensor) -> Tensor {
  map(x) { v in v / (1 + exp(v * -1.702)) }
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

/// The `grain` for ``Threads/parallelFor(_:grain:_:)`` over items of `elementsPerItem` floats
/// (rows, vectors): enough elements per task that handing it to another thread (some
/// microseconds) costs little next to the work.
package func grain(elementsPerItem: Int) -> Int {
  let elementsPerTask = 1 << 15
  return max(1, elementsPerTask / max(elementsPerItem, 1))
}

private func map(_ x: Tensor, _ f: (FloatVector) -> FloatVector) -> Tensor {
  if x.count == 0 { return x }
  let width = FloatVector.scalarCount
  return x.scalars.withUnsafeBufferPointer { px in
    Tensor(uninitializedShape: x.shape) { py in
      let (source, destination, count) = (px.baseAddress!, py.baseAddress!, px.count)
      // Tasks cover whole vectors so only the last one has a tail.
      let vectors = (count + width - 1) / width
      Threads.parallelFor(vectors, grain: grain(elementsPerItem: width)) { range in
        let start = range.lowerBound * width
        let end = min(range.upperBound * width, count)
        mapVectors(source + start, destination + start, count: end - start, f)
      }
    }
  }
}
