/// Multi-head scaled dot-product attention on already-projected queries, keys and values.
///
/// - `query`: `[B, Tq, W]`; `key`, `value`: `[B, Tk, W]`, where `W = heads * headDim`. Head `h`
///   owns columns `h * headDim ..< (h + 1) * headDim`, as after PyTorch's `view(B, T, heads, -1)`.
/// - `causal`: query `i` attends only keys `j <= i` (needs `Tq == Tk`).
/// - `keyMask`: `B` rows of `Tk` flags, `true` for keys that may be attended; nil attends all.
/// - Returns `[B, Tq, W]`: per head `softmax(Q Kᵀ / sqrt(headDim) + mask) V`. A query whose keys
///   are all masked gets zeros.
///
/// Work is split into blocks of queries of one head, spread over ``Threads/count`` threads; a
/// block's scores (`queryBlock x Tk`) stay in cache between the two GEMMs, and memory stays
/// `O(threads * queryBlock * Tk)` however long the sequence.
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
  let maskedKeys = keyMask?.map { row in row.indices.filter { !row[$0] } }
  let block = min(queryBlock, max(tq, 1))
  let blocksPerHead = (tq + block - 1) / block
  if b * tq * w == 0 { return Tensor(repeating: 0, shape: [b, tq, w]) }
  return query.scalars.withUnsafeBufferPointer { pq in
    key.scalars.withUnsafeBufferPointer { pk in
      value.scalars.withUnsafeBufferPointer { pv in
        Tensor(uninitializedShape: [b, tq, w]) { po in
          let (q, k, v, o) = (pq.baseAddress!, pk.baseAddress!, pv.baseAddress!, po.baseAddress!)
          Threads.parallelFor(b * heads * blocksPerHead) { items in
            var scores = [Float](repeating: 0, count: max(block * tk, 1))
            scores.withUnsafeMutableBufferPointer { ps in
              let s = ps.baseAddress!
              for item in items {
                let (pair, blockIndex) = item.quotientAndRemainder(dividingBy: blocksPerHead)
                let (bi, h) = pair.quotientAndRemainder(dividingBy: heads)
                let first = blockIndex * block
                let rows = min(block, tq - first)
                // Under the causal mask no query of this block sees a key past its last query.
                let keys = causal ? first + rows : tk
                let head = h * headDim
                // scores[rows, keys] = scale * Q_h K_hᵀ, reading the head's columns in place.
                sgemm(
                  m: rows, n: keys, k: headDim, a: q + (bi * tq + first) * w + head, lda: w,
                  b: k + bi * tk * w + head, ldb: w, transposeB: true, c: s, ldc: keys,
                  alpha: scale)
                for r in 0..<rows {
                  let row = s + r * keys
                  if let masked = maskedKeys?[bi] {
                    for j in masked where j < keys { row[j] = -.infinity }
                  }
                  let visible = causal ? first + r + 1 : keys
                  softmaxInPlace(row, count: visible)
                  (row + visible).update(repeating: 0, count: keys - visible)
                }
                sgemm(
                  m: rows, n: headDim, k: keys, a: s, lda: keys, b: v + bi * tk * w + head, ldb: w,
                  c: o + (bi * tq + first) * w + head, ldc: w)
              }
            }
          }
        }
      }
    }
  }
}

/// Queries per work item. 64 rows of scores for a 1500-frame Whisper window are 384 KB, which
/// stays in a core's L2 between the two GEMMs.
private let queryBlock = 64
