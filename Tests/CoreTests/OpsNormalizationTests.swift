import Core
import TestSupport
import Testing

// layerNorm: outputs are O(1) (normalized values times weights in [-1, 1] plus bias); the fast
// path sums C floats in vector lanes, so its mean and variance are within ~sqrt(C) ulps.
private func layerNormTolerance(_ c: Int) -> (atol: Float, rtol: Float) {
  (1e-6 * Float(max(c, 1)).squareRoot(), 1e-5)
}
// softmax: probabilities in [0, 1]; exp within 2 ulp and a C-term sum: 1e-5 relative, plus an
// absolute floor far below any probability that matters.
private let softmaxTolerance: (atol: Float, rtol: Float) = (1e-8, 1e-5)

struct NormalizationCase: Sendable, CustomTestStringConvertible {
  var shape: [Int]
  /// Inputs are uniform in `center - 1 ... center + 1`.
  var center: Float = 0
  var testDescription: String { "\(shape) around \(center)" }
}

let normalizationCases: [NormalizationCase] = [
  NormalizationCase(shape: [1, 1]), NormalizationCase(shape: [1, 2]),
  NormalizationCase(shape: [3, 5]), NormalizationCase(shape: [2, 7]),
  NormalizationCase(shape: [4, 8]), NormalizationCase(shape: [5, 13]),
  NormalizationCase(shape: [1, 17]), NormalizationCase(shape: [6, 31]),
  NormalizationCase(shape: [2, 3, 64]), NormalizationCase(shape: [7, 67]),
  NormalizationCase(shape: [3, 100]), NormalizationCase(shape: [1, 129]),
  NormalizationCase(shape: [2, 255]), NormalizationCase(shape: [10, 768]),
  NormalizationCase(shape: [300, 257]), NormalizationCase(shape: [2, 2, 2, 9]),
  NormalizationCase(shape: [130, 512]), NormalizationCase(shape: [1, 1000]),
  NormalizationCase(shape: [33, 1]), NormalizationCase(shape: [5, 3], center: 5),
  NormalizationCase(shape: [4, 77], center: -7), NormalizationCase(shape: [2, 768], center: 3),
  NormalizationCase(shape: [0, 4]),
]

@Test(arguments: normalizationCases.enumerated().map { $0 })
func layerNormMatchesReference(index: Int, c: NormalizationCase) {
  let width = c.shape.last!
  let x = randomTensor(c.shape, seed: UInt64(600 + index), in: (c.center - 1)...(c.center + 1))
  let weight = randomTensor([width], seed: UInt64(700 + index))
  let bias = randomTensor([width], seed: UInt64(800 + index))
  let (atol, rtol) = layerNormTolerance(width)
  expectClose(
    layerNorm(x, weight: weight, bias: bias, eps: 1e-5),
    Reference.layerNorm(x, weight: weight, bias: bias, eps: 1e-5), atol: atol, rtol: rtol,
    c.testDescription)
}

@Test(arguments: normalizationCases.enumerated().map { $0 })
func softmaxMatchesReference(index: Int, c: NormalizationCase) {
  // Scores spread like attention logits, with about one in five masked to -infinity.
  var generator = SeededGenerator(seed: UInt64(900 + index))
  var x = randomTensor(c.shape, seed: UInt64(1000 + index), in: (c.center - 8)...(c.center + 8))
  for i in x.scalars.indices where Int.random(in: 0..<5, using: &generator) == 0 {
    x.scalars[i] = -.infinity
  }
  expectClose(
    softmax(x), Reference.softmax(x), atol: softmaxTolerance.atol, rtol: softmaxTolerance.rtol,
    c.testDescription)
}

@Test func softmaxMatchesPyTorchOnEdgeCases() {
  // python -c "import torch; f = lambda v: torch.softmax(torch.tensor(v, dtype=torch.float64),
  //   -1).tolist(); inf = float('inf'); print(f([1000., 1001., 1002.]),
  //   f([-1000., -1001., -1002.]), f([0., -inf, 1., -inf, -2.]), f([3e38, 0., -3e38]))"
  // (printed to 9 significant digits)
  let cases: [(input: [Float], expected: [Float])] = [
    ([1000, 1001, 1002], [0.0900305732, 0.244728471, 0.665240956]),
    ([-1000, -1001, -1002], [0.665240956, 0.244728471, 0.0900305732]),
    ([0, -.infinity, 1, -.infinity, -2], [0.25949646, 0, 0.705384513, 0, 0.035119027]),
    ([3e38, 0, -3e38], [1, 0, 0]),
  ]
  for (input, expected) in cases {
    let x = Tensor(shape: [1, input.count], scalars: input)
    expectClose(
      softmax(x), Tensor(shape: x.shape, scalars: expected), atol: softmaxTolerance.atol,
      rtol: softmaxTolerance.rtol, "\(input)")
  }
}

@Test func softmaxOfAFullyMaskedRowIsZero() {
  // torch.softmax gives NaN here; mmencode's contract is zeros, so a query with every key masked
  // contributes nothing instead of poisoning later sums.
  let x = Tensor(shape: [2, 3], scalars: [-.infinity, -.infinity, -.infinity, 0, 0, 0])
  let third: Float = 1 / 3
  #expect(softmax(x).scalars == [0, 0, 0, third, third, third])
}

@Test func layerNormMatchesPyTorchOnEdgeCases() {
  // python -c "import torch; f = torch.nn.functional.layer_norm; t = lambda v:
  //   torch.tensor(v, dtype=torch.float64); print(f(t([[10000.5, 10001.5, 10002.5, 10003.5]]),
  //   (4,), t([1., 2., 0.5, -1.]), t([0., 0.1, -0.2, 0.3]), 1e-5).tolist(), f(t([[3., 3., 3.]]),
  //   (3,), t([2., 2., 2.]), t([0.5, -0.5, 1.]), 1e-5).tolist(), f(t([[1e4, -1e4, 3e4, 0.]]),
  //   (4,), None, None, 1e-5).tolist())"
  // A large mean next to a small spread (the two-pass variance keeps it exact), a constant row
  // (variance 0: only eps keeps it finite, the output is the bias) and large values.
  let cases: [(input: [Float], weight: [Float], bias: [Float], expected: [Float])] = [
    (
      [10000.5, 10001.5, 10002.5, 10003.5], [1, 2, 0.5, -1], [0, 0.1, -0.2, 0.3],
      [-1.34163542, -0.794423613, 0.0236059033, -1.04163542]
    ),
    ([3, 3, 3], [2, 2, 2], [0.5, -0.5, 1], [0.5, -0.5, 1]),
    (
      [1e4, -1e4, 3e4, 0], [1, 1, 1, 1], [0, 0, 0, 0],
      [0.169030851, -1.18321596, 1.52127766, -0.507092553]
    ),
  ]
  for c in cases {
    let n = c.input.count
    let y = layerNorm(
      Tensor(shape: [1, n], scalars: c.input), weight: Tensor(shape: [n], scalars: c.weight),
      bias: Tensor(shape: [n], scalars: c.bias), eps: 1e-5)
    expectClose(
      y, Tensor(shape: [1, n], scalars: c.expected), atol: 1e-6, rtol: 1e-5, "\(c.input)")
  }
}
