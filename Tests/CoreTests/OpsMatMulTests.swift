import Core
import Testing

// Tolerance for GEMM-based ops: inputs are uniform in [-1, 1], so each of the K products is at
// most 1 in size and float32 rounding in a K-term sum grows like sqrt(K) ulps of the partial
// sums. The fast path may block and reorder the sum (BLAS); the reference sums in Double.
func gemmTolerance(_ k: Int) -> (atol: Float, rtol: Float) {
  (1e-5 * Float(max(k, 1)).squareRoot(), 1e-5)
}

struct MatMulCase: Sendable, CustomTestStringConvertible {
  var batch: [Int]
  var m, k, n: Int
  var transposeA = false, transposeB = false
  /// One `b` shared by every batch entry (rank 2) instead of one per entry.
  var sharedB = true

  var a: [Int] { batch + (transposeA ? [k, m] : [m, k]) }
  var b: [Int] { (sharedB ? [] : batch) + (transposeB ? [n, k] : [k, n]) }
  var testDescription: String {
    "\(a)\(transposeA ? "ᵀ" : "") x \(b)\(transposeB ? "ᵀ" : "")"
  }
}

let matMulCases: [MatMulCase] = [
  MatMulCase(batch: [], m: 1, k: 1, n: 1),
  MatMulCase(batch: [], m: 1, k: 7, n: 1),
  MatMulCase(batch: [], m: 3, k: 5, n: 7),
  MatMulCase(batch: [], m: 8, k: 8, n: 8),
  MatMulCase(batch: [], m: 13, k: 17, n: 19),
  MatMulCase(batch: [], m: 31, k: 1, n: 29),
  MatMulCase(batch: [], m: 64, k: 63, n: 65),
  MatMulCase(batch: [], m: 100, k: 37, n: 3),
  MatMulCase(batch: [], m: 257, k: 129, n: 131),
  MatMulCase(batch: [], m: 5, k: 11, n: 3, transposeA: true),
  MatMulCase(batch: [], m: 9, k: 2, n: 23, transposeB: true),
  MatMulCase(batch: [], m: 17, k: 41, n: 13, transposeA: true, transposeB: true),
  MatMulCase(batch: [2], m: 5, k: 3, n: 4),
  MatMulCase(batch: [3], m: 7, k: 11, n: 13, sharedB: false),
  MatMulCase(batch: [4], m: 1, k: 9, n: 2, transposeB: true),
  MatMulCase(batch: [2], m: 17, k: 33, n: 5, transposeA: true),
  MatMulCase(batch: [2], m: 19, k: 7, n: 23, transposeA: true, sharedB: false),
  MatMulCase(batch: [5], m: 3, k: 29, n: 31, transposeB: true, sharedB: false),
  MatMulCase(batch: [2, 3], m: 6, k: 10, n: 12),
  MatMulCase(batch: [2, 3], m: 11, k: 3, n: 1, transposeA: true, transposeB: true, sharedB: false),
  MatMulCase(batch: [7], m: 1, k: 1, n: 1, sharedB: false),
  MatMulCase(batch: [16], m: 50, k: 64, n: 50, transposeB: true, sharedB: false),
  MatMulCase(batch: [3], m: 127, k: 67, n: 61),
  // Large enough to be split across threads: by columns (n >= m) or by rows, with block edges
  // that are not multiples of the alignment.
  MatMulCase(batch: [], m: 40, k: 300, n: 333, transposeB: true),
  MatMulCase(batch: [], m: 45, k: 301, n: 250),
  MatMulCase(batch: [], m: 333, k: 200, n: 40, transposeA: true),
  MatMulCase(batch: [], m: 290, k: 250, n: 35, transposeA: true, transposeB: true),
  MatMulCase(batch: [2], m: 150, k: 100, n: 170, transposeB: true, sharedB: false),
  MatMulCase(batch: [], m: 0, k: 3, n: 4),
  MatMulCase(batch: [2], m: 3, k: 0, n: 4),
]

@Test(arguments: matMulCases.enumerated().map { $0 })
func matmulMatchesReference(index: Int, c: MatMulCase) {
  let a = randomTensor(c.a, seed: UInt64(2 * index + 1))
  let b = randomTensor(c.b, seed: UInt64(2 * index + 2))
  let fast = matmul(a, b, transposeA: c.transposeA, transposeB: c.transposeB)
  let reference = Reference.matmul(a, b, transposeA: c.transposeA, transposeB: c.transposeB)
  let (atol, rtol) = gemmTolerance(c.k)
  expectClose(fast, reference, atol: atol, rtol: rtol, c.testDescription)
}

@Test func matmulOfSmallIntegersIsExact() {
  // [[1, 2], [3, 4]] x [[5, 6], [7, 8]] = [[19, 22], [43, 50]], by hand.
  let a = Tensor(shape: [2, 2], scalars: [1, 2, 3, 4])
  let b = Tensor(shape: [2, 2], scalars: [5, 6, 7, 8])
  #expect(matmul(a, b).scalars == [19, 22, 43, 50])
  #expect(matmul(a, b, transposeA: true).scalars == [26, 30, 38, 44])
  #expect(matmul(a, b, transposeB: true).scalars == [17, 23, 39, 53])
}

struct LinearCase: Sendable, CustomTestStringConvertible {
  var leading: [Int]
  var inFeatures, outFeatures: Int
  var bias: Bool
  var testDescription: String {
    "\(leading + [inFeatures]) -> \(outFeatures)\(bias ? " + bias" : "")"
  }
}

let linearCases: [LinearCase] = [
  LinearCase(leading: [1], inFeatures: 1, outFeatures: 1, bias: true),
  LinearCase(leading: [1], inFeatures: 1, outFeatures: 1, bias: false),
  LinearCase(leading: [1], inFeatures: 3, outFeatures: 5, bias: true),
  LinearCase(leading: [7], inFeatures: 13, outFeatures: 17, bias: false),
  LinearCase(leading: [7], inFeatures: 13, outFeatures: 17, bias: true),
  LinearCase(leading: [2, 3], inFeatures: 8, outFeatures: 8, bias: true),
  LinearCase(leading: [5], inFeatures: 64, outFeatures: 3, bias: true),
  LinearCase(leading: [1], inFeatures: 1, outFeatures: 31, bias: true),
  LinearCase(leading: [4, 5], inFeatures: 31, outFeatures: 7, bias: false),
  LinearCase(leading: [3], inFeatures: 97, outFeatures: 89, bias: true),
  LinearCase(leading: [50], inFeatures: 24, outFeatures: 96, bias: true),
  LinearCase(leading: [2, 50], inFeatures: 24, outFeatures: 96, bias: false),
  LinearCase(leading: [11], inFeatures: 129, outFeatures: 1, bias: true),
  LinearCase(leading: [2, 2, 2], inFeatures: 5, outFeatures: 9, bias: true),
  LinearCase(leading: [19], inFeatures: 2, outFeatures: 23, bias: true),
  LinearCase(leading: [61], inFeatures: 67, outFeatures: 71, bias: true),
  LinearCase(leading: [1], inFeatures: 1000, outFeatures: 2, bias: true),
  LinearCase(leading: [3], inFeatures: 10, outFeatures: 0, bias: true),
  LinearCase(leading: [0], inFeatures: 6, outFeatures: 4, bias: true),
  LinearCase(leading: [4], inFeatures: 0, outFeatures: 3, bias: true),
  LinearCase(leading: [4], inFeatures: 0, outFeatures: 3, bias: false),
  LinearCase(leading: [300], inFeatures: 257, outFeatures: 263, bias: true),
  LinearCase(leading: [4, 5], inFeatures: 300, outFeatures: 401, bias: true),
]

@Test(arguments: linearCases.enumerated().map { $0 })
func linearMatchesReference(index: Int, c: LinearCase) {
  let x = randomTensor(c.leading + [c.inFeatures], seed: UInt64(3 * index + 100))
  let weight = randomTensor([c.outFeatures, c.inFeatures], seed: UInt64(3 * index + 101))
  let bias = c.bias ? randomTensor([c.outFeatures], seed: UInt64(3 * index + 102)) : nil
  let fast = linear(x, weight: weight, bias: bias)
  let reference = Reference.linear(x, weight: weight, bias: bias)
  let (atol, rtol) = gemmTolerance(c.inFeatures)
  expectClose(fast, reference, atol: atol, rtol: rtol, c.testDescription)
}
