import Foundation

/// Naive versions of the ops in this folder, written straight from their definitions: plain
/// loops, no BLAS, no vector code, no threads, sums and transcendental functions in `Double`.
///
/// They exist so tests can check the fast ops against something obviously right; they are far too
/// slow for real inputs. Each takes the same arguments and has the same contract as the fast op
/// of the same name.
package enum Reference {
  /// See ``matmul(_:_:transposeA:transposeB:)``.
  package static func matmul(
    _ a: Tensor, _ b: Tensor, transposeA: Bool = false, transposeB: Bool = false
  ) -> Tensor {
    let (ar, ac) = (a.shape[a.rank - 2], a.shape[a.rank - 1])
    let (br, bc) = (b.shape[b.rank - 2], b.shape[b.rank - 1])
    let (m, k) = transposeA ? (ac, ar) : (ar, ac)
    let n = transposeB ? br : bc
    let batchShape = Array(a.shape.dropLast(2))
    let batch = batchShape.reduce(1, *)
    var out = [Float](repeating: 0, count: batch * m * n)
    for p in 0..<batch {
      let aBase = p * ar * ac
      let bBase = b.rank == 2 ? 0 : p * br * bc
      for i in 0..<m {
        for j in 0..<n {
          var sum = 0.0
          for t in 0..<k {
            let av = transposeA ? a.scalars[aBase + t * ac + i] : a.scalars[aBase + i * ac + t]
            let bv = transposeB ? b.scalars[bBase + j * bc + t] : b.scalars[bBase + t * bc + j]
            sum += Double(av) * Double(bv)
          }
          out[(p * m + i) * n + j] = Float(sum)
        }
      }
    }
    return Tensor(shape: batchShape + [m, n], scalars: out)
  }

  /// See ``linear(_:weight:bias:)``.
  package static func linear(_ x: Tensor, weight: Tensor, bias: Tensor? = nil) -> Tensor {
    let (outFeatures, inFeatures) = (weight.shape[0], weight.shape[1])
    let rows = x.shape.dropLast().reduce(1, *)
    var out = [Float](repeating: 0, count: rows * outFeatures)
    for r in 0..<rows {
      for o in 0..<outFeatures {
        var sum = Double(bias?.scalars[o] ?? 0)
        for i in 0..<inFeatures {
          sum += Double(x.scalars[r * inFeatures + i]) * Double(weight.scalars[o * inFeatures + i])
        }
        out[r * outFeatures + o] = Float(sum)
      }
    }
    return Tensor(shape: Array(x.shape.dropLast()) + [outFeatures], scalars: out)
  }

  /// See ``layerNorm(_:weight:bias:eps:)``.
  package static func layerNorm(_ x: Tensor, weight: Tensor, bias: Tensor, eps: Float) -> Tensor {
    let c = x.shape.last!
    var out = x.scalars
    for r in 0..<(c == 0 ? 0 : x.count / c) {
      let row = (0..<c).map { Double(x.scalars[r * c + $0]) }
      let mean = row.reduce(0, +) / Double(c)
      let variance = row.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(c)
      for i in 0..<c {
        let normalized = (row[i] - mean) / (variance + Double(eps)).squareRoot()
        out[r * c + i] = Float(normalized * Double(weight.scalars[i]) + Double(bias.scalars[i]))
      }
    }
    return Tensor(shape: x.shape, scalars: out)
  }

  /// See ``softmax(_:)``.
  package static func softmax(_ x: Tensor) -> Tensor {
    let c = x.shape.last!
    var out = x.scalars
    for r in 0..<(c == 0 ? 0 : x.count / c) {
      let row = (0..<c).map { Double(x.scalars[r * c + $0]) }
      let probabilities = softmax(row)
      for i in 0..<c { out[r * c + i] = Float(probabilities[i]) }
    }
    return Tensor(shape: x.shape, scalars: out)
  }

  /// See ``gelu(_:)``.
  package static func gelu(_ x: Tensor) -> Tensor {
    Tensor(
      shape: x.shape,
      scalars: x.scalars.map { v in
        let d = Double(v)
        return Float(0.5 * d * (1 + Foundation.erf(d / 2.0.squareRoot())))
      })
  }

  /// See ``quickGelu(_:)``.
  package static func quickGelu(_ x: Tensor) -> Tensor {
    Tensor(
      shape: x.shape,
      scalars: x.scalars.map { v in
        let d = Double(v)
        return Float(d / (1 + Foundation.exp(-1.702 * d)))
      })
  }

  /// See ``add(_:_:)``.
  package static func add(_ a: Tensor, _ b: Tensor) -> Tensor {
    Tensor(
      shape: a.shape, scalars: zip(a.scalars, b.scalars).map { Float(Double($0) + Double($1)) })
  }

  /// See ``attention(query:key:value:heads:causal:keyMask:)``.
  package static func attention(
    query: Tensor, key: Tensor, value: Tensor, heads: Int, causal: Bool = false,
    keyMask: [[Bool]]? = nil
  ) -> Tensor {
    let (b, tq, w) = (query.shape[0], query.shape[1], query.shape[2])
    let tk = key.shape[1]
    let headDim = w / heads
    var out = [Float](repeating: 0, count: b * tq * w)
    for bi in 0..<b {
      for h in 0..<heads {
        for i in 0..<tq {
          var scores = [Double](repeating: -.infinity, count: tk)
          for j in 0..<tk {
            let allowed = (!causal || j <= i) && (keyMask?[bi][j] ?? true)
            guard allowed else { continue }
            var dot = 0.0
            for d in 0..<headDim {
              let column = h * headDim + d
              dot +=
                Double(query.scalars[(bi * tq + i) * w + column])
                * Double(key.scalars[(bi * tk + j) * w + column])
            }
            scores[j] = dot / Double(headDim).squareRoot()
          }
          let weights = softmax(scores)
          for d in 0..<headDim {
            let column = h * headDim + d
            var sum = 0.0
            for j in 0..<tk where weights[j] != 0 {
              sum += weights[j] * Double(value.scalars[(bi * tk + j) * w + column])
            }
            out[(bi * tq + i) * w + column] = Float(sum)
          }
        }
      }
    }
    return Tensor(shape: [b, tq, w], scalars: out)
  }

  /// See ``conv1d(_:weight:bias:stride:padding:)``.
  package static func conv1d(
    _ x: Tensor, weight: Tensor, bias: Tensor? = nil, stride: Int = 1, padding: Int = 0
  ) -> Tensor {
    let (b, cin, l) = (x.shape[0], x.shape[1], x.shape[2])
    let (cout, k) = (weight.shape[0], weight.shape[2])
    let lout = (l + 2 * padding - k) / stride + 1
    var out = [Float](repeating: 0, count: b * cout * lout)
    for bi in 0..<b {
      for o in 0..<cout {
        for t in 0..<lout {
          var sum = Double(bias?.scalars[o] ?? 0)
          for c in 0..<cin {
            for tap in 0..<k {
              let position = t * stride + tap - padding
              guard position >= 0 && position < l else { continue }
              sum +=
                Double(weight.scalars[(o * cin + c) * k + tap])
                * Double(x.scalars[(bi * cin + c) * l + position])
            }
          }
          out[(bi * cout + o) * lout + t] = Float(sum)
        }
      }
    }
    return Tensor(shape: [b, cout, lout], scalars: out)
  }

  /// See ``patchEmbed(_:weight:bias:)``: a 2-D convolution with stride equal to the kernel.
  package static func patchEmbed(_ images: Tensor, weight: Tensor, bias: Tensor? = nil) -> Tensor {
    let (b, c, h, w) = (images.shape[0], images.shape[1], images.shape[2], images.shape[3])
    let (d, p) = (weight.shape[0], weight.shape[2])
    let (gh, gw) = (h / p, w / p)
    var out = [Float](repeating: 0, count: b * gh * gw * d)
    for bi in 0..<b {
      for gy in 0..<gh {
        for gx in 0..<gw {
          for o in 0..<d {
            var sum = Double(bias?.scalars[o] ?? 0)
            for ci in 0..<c {
              for dy in 0..<p {
                for dx in 0..<p {
                  let pixel = images.scalars[((bi * c + ci) * h + gy * p + dy) * w + gx * p + dx]
                  sum += Double(weight.scalars[((o * c + ci) * p + dy) * p + dx]) * Double(pixel)
                }
              }
            }
            out[((bi * gh + gy) * gw + gx) * d + o] = Float(sum)
          }
        }
      }
    }
    return Tensor(shape: [b, gh * gw, d], scalars: out)
  }

  /// See ``avgPool1d(_:kernel:stride:)``.
  package static func avgPool1d(_ x: Tensor, kernel: Int, stride: Int) -> Tensor {
    let (b, c, l) = (x.shape[0], x.shape[1], x.shape[2])
    let lout = (l - kernel) / stride + 1
    var out = [Float](repeating: 0, count: b * c * lout)
    for r in 0..<(b * c) {
      for t in 0..<lout {
        let window = (0..<kernel).map { Double(x.scalars[r * l + t * stride + $0]) }
        out[r * lout + t] = Float(window.reduce(0, +) / Double(kernel))
      }
    }
    return Tensor(shape: [b, c, lout], scalars: out)
  }

  /// Softmax of one row in `Double`; an all `-infinity` row gives zeros, as the fast op does.
  private static func softmax(_ row: [Double]) -> [Double] {
    guard let maximum = row.max(), maximum != -.infinity else {
      return [Double](repeating: 0, count: row.count)
    }
    let exps = row.map { Foundation.exp($0 - maximum) }
    let total = exps.reduce(0, +)
    return exps.map { $0 / total }
  }
}
