/// Multi-head scaled dot-product attention on already-projected queries, keys and values.
///
/// - `query`: `[B, Tq, W]`; `key`, `value`: `[B, Tk, W]`, where `W = heads * headDim`. Head `h`
///   owns columns `h * headDim ..< (h + 1) * headDim`, as after PyTorch's `view(B, T, heads, -1)`.
/// - `causal`: query `i` attends only keys `j <= i` (needs `Tq == Tk`).
/// - `keyMask`: `B` rows of `Tk` flags, `true` for keys that may be attended; nil attends all.
/// - Returns `[B, Tq, W]`: per head `softmax(Q Kᵀ / sqrt(headDim) + mask) V`.
public func attention(
  query: Tensor, key: Tensor, value: Tensor, heads: Int, causal: Bool = false,
  keyMask: [[Bool]]? = nil
) -> Tensor {
  precondition(query.rank == 3 && key.rank == 3 && value.rank == 3, "attention needs [B, T, W]")
  let (b, tq, w) = (query.shape[0], query.shape[1], query.shape[2])
  let tk = key.shape[1]
  precondition(key.shape == [b, tk, w] && value.shape == key.shape, "attention: q/k/v shapes")
  precondition(heads > 0 && w % heads == 0, "attention: \(heads) heads do not divide width \(w)")
  precondition(!causal || tq == tk, "attention: causal needs as many queries as keys")
  precondition(
    keyMask == nil || (keyMask!.count == b && keyMask!.allSatisfy { $0.count == tk }),
    "attention: key mask must be [B][Tk]")
  let headDim = w / heads
  let scale = 1 / Float(headDim).squareRoot()
  var scores = [Float](repeating: 0, count: tq * tk)
  return query.scalars.withUnsafeBufferPointer { pq in
    key.scalars.withUnsafeBufferPointer { pk in
      value.scalars.withUnsafeBufferPointer { pv in
        Tensor(uninitializedShape: [b, tq, w]) { po in
          scores.withUnsafeMutableBufferPointer { ps in
            let s = ps.baseAddress!
            for bi in 0..<b {
              for h in 0..<heads {
                let q = pq.baseAddress! + bi * tq * w + h * headDim
                let k = pk.baseAddress! + bi * tk * w + h * headDim
                let v = pv.baseAddress! + bi * tk * w + h * headDim
                // scores[Tq, Tk] = scale * Q_h K_hᵀ, reading the head's columns in place.
                sgemm(
                  m: tq, n: tk, k: headDim, a: q, lda: w, b: k, ldb: w, transposeB: true,
                  c: s, ldc: tk, alpha: scale)
                for i in 0..<tq {
                  let row = s + i * tk
                  if causal { for j in (i + 1)..<max(i + 1, tk) { row[j] = -.infinity } }
                  if let mask = keyMask?[bi] {
                    for j in 0..<tk where !mask[j] { row[j] = -.infinity }
                  }
                  softmaxInPlace(row, count: tk)
                }
                sgemm(
                  m: tq, n: headDim, k: tk, a: s, lda: tk, b: v, ldb: w,
                  c: po.baseAddress! + bi * tq * w + h * headDim, ldc: w)
              }
            }
          }
        }
      }
    }
  }
}
