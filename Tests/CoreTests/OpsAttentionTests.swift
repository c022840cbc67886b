import Core
import TestSupport
import Testing

struct AttentionCase: Sendable, CustomTestStringConvertible {
  var batch, queries, keys, width, heads: Int
  var causal = false
  var masked = false
  /// Masks every key of batch entry 0, whose queries must then come out as zeros.
  var firstEntryFullyMasked = false

  var testDescription: String {
    "B\(batch) Tq\(queries) Tk\(keys) W\(width)/\(heads)\(causal ? " causal" : "")"
      + (masked ? " masked" : "") + (firstEntryFullyMasked ? " (entry 0 fully)" : "")
  }
}

let attentionCases: [AttentionCase] = [
  AttentionCase(batch: 1, queries: 1, keys: 1, width: 1, heads: 1),
  AttentionCase(batch: 1, queries: 1, keys: 1, width: 8, heads: 2, causal: true),
  AttentionCase(batch: 1, queries: 3, keys: 5, width: 6, heads: 2),
  AttentionCase(batch: 2, queries: 7, keys: 7, width: 12, heads: 3, causal: true),
  AttentionCase(batch: 2, queries: 5, keys: 9, width: 16, heads: 4, masked: true),
  AttentionCase(batch: 3, queries: 13, keys: 13, width: 15, heads: 5, causal: true, masked: true),
  AttentionCase(batch: 1, queries: 17, keys: 17, width: 64, heads: 1),
  AttentionCase(batch: 2, queries: 31, keys: 31, width: 64, heads: 8, causal: true, masked: true),
  AttentionCase(batch: 1, queries: 50, keys: 50, width: 96, heads: 12),
  AttentionCase(batch: 4, queries: 50, keys: 50, width: 96, heads: 12, causal: true, masked: true),
  AttentionCase(batch: 1, queries: 64, keys: 64, width: 32, heads: 2, causal: true),
  AttentionCase(batch: 1, queries: 65, keys: 65, width: 32, heads: 2, causal: true),
  AttentionCase(batch: 1, queries: 130, keys: 130, width: 24, heads: 3, causal: true, masked: true),
  AttentionCase(batch: 1, queries: 150, keys: 37, width: 20, heads: 4, masked: true),
  AttentionCase(batch: 2, queries: 1, keys: 77, width: 16, heads: 2, masked: true),
  AttentionCase(batch: 1, queries: 77, keys: 77, width: 64, heads: 8, causal: true, masked: true),
  AttentionCase(
    batch: 3, queries: 2, keys: 3, width: 9, heads: 3, masked: true, firstEntryFullyMasked: true),
  AttentionCase(
    batch: 2, queries: 9, keys: 9, width: 8, heads: 2, causal: true, masked: true,
    firstEntryFullyMasked: true),
  AttentionCase(batch: 1, queries: 200, keys: 200, width: 8, heads: 1),
  AttentionCase(batch: 2, queries: 129, keys: 129, width: 40, heads: 5, causal: true),
  AttentionCase(batch: 1, queries: 1, keys: 300, width: 64, heads: 1, masked: true),
  AttentionCase(batch: 5, queries: 11, keys: 11, width: 30, heads: 6, causal: true, masked: true),
  AttentionCase(batch: 1, queries: 3, keys: 0, width: 4, heads: 2),
  AttentionCase(batch: 0, queries: 3, keys: 3, width: 4, heads: 2),
]

@Test(arguments: attentionCases.enumerated().map { $0 })
func attentionMatchesReference(index: Int, c: AttentionCase) {
  let seed = UInt64(4 * index + 2000)
  let q = randomTensor([c.batch, c.queries, c.width], seed: seed)
  let k = randomTensor([c.batch, c.keys, c.width], seed: seed + 1)
  let v = randomTensor([c.batch, c.keys, c.width], seed: seed + 2)
  var keyMask: [[Bool]]? = nil
  if c.masked {
    var generator = SeededGenerator(seed: seed + 3)
    keyMask = (0..<c.batch).map { b in
      (0..<c.keys).map { _ in
        !(b == 0 && c.firstEntryFullyMasked) && Int.random(in: 0..<4, using: &generator) != 0
      }
    }
  }
  let fast = attention(
    query: q, key: k, value: v, heads: c.heads, causal: c.causal, keyMask: keyMask)
  let reference = Reference.attention(
    query: q, key: k, value: v, heads: c.heads, causal: c.causal, keyMask: keyMask)
  // Scores are headDim-term dot products (the GEMM bound), then softmax and a convex combination
  // of values in [-1, 1], which does not grow the error.
  let (atol, rtol) = gemmTolerance(c.width / c.heads)
  expectClose(fast, reference, atol: atol, rtol: rtol, c.testDescription)
  if c.firstEntryFullyMasked {
    #expect(fast[0].scalars.allSatisfy { $0 == 0 })
  }
}

@Test func attentionOfOneKeyCopiesItsValue() {
  // With a single visible key the softmax weight is exactly 1, whatever the scores.
  let q = randomTensor([1, 4, 6], seed: 1)
  let k = randomTensor([1, 4, 6], seed: 2)
  let v = randomTensor([1, 4, 6], seed: 3)
  let mask = [[false, false, true, false]]
  let out = attention(query: q, key: k, value: v, heads: 3, keyMask: mask)
  for i in 0..<4 { #expect(out[0][i].scalars == v[0][2].scalars) }
  // Causal: the first query sees only the first key.
  let causal = attention(query: q, key: k, value: v, heads: 3, causal: true)
  #expect(causal[0][0].scalars == v[0][0].scalars)
}
