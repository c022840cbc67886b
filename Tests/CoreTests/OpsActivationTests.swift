import Core
import Testing

// GELU's fast path evaluates erfc with a Chebyshev fit (relative error ~1e-7) and exp within
// 2 ulp, in float32: a few ulp of relative error in all, so 2e-6 relative; the absolute floor
// covers results that round to tiny values near zero.
private let geluTolerance: (atol: Float, rtol: Float) = (1e-7, 2e-6)
// Quick GELU is one exp (2 ulp) and one divide: 1e-6 relative.
private let quickGeluTolerance: (atol: Float, rtol: Float) = (1e-7, 1e-6)

/// Shapes from one element up to more than two parallel tasks' worth, most of them not a
/// multiple of the vector width.
let elementwiseShapes: [[Int]] = [
  [1], [2], [7], [8], [15], [16], [17], [31], [3, 5], [2, 2, 2], [100], [127], [4, 33], [1023],
  [4096], [5, 1, 13], [9, 257], [65537], [300, 257], [2, 3, 4, 5], [0], [3, 0],
]

@Test(arguments: elementwiseShapes.enumerated().map { $0 })
func geluMatchesReference(index: Int, shape: [Int]) {
  // Wide enough to reach both tails, where GELU tends to 0 and to x.
  let x = randomTensor(shape, seed: UInt64(200 + index), in: -12...12)
  expectClose(
    gelu(x), Reference.gelu(x), atol: geluTolerance.atol, rtol: geluTolerance.rtol, "\(shape)")
}

@Test(arguments: elementwiseShapes.enumerated().map { $0 })
func quickGeluMatchesReference(index: Int, shape: [Int]) {
  let x = randomTensor(shape, seed: UInt64(300 + index), in: -30...30)
  expectClose(
    quickGelu(x), Reference.quickGelu(x), atol: quickGeluTolerance.atol,
    rtol: quickGeluTolerance.rtol, "\(shape)")
}

@Test(arguments: elementwiseShapes.enumerated().map { $0 })
func addMatchesReference(index: Int, shape: [Int]) {
  let a = randomTensor(shape, seed: UInt64(400 + index))
  let b = randomTensor(shape, seed: UInt64(500 + index))
  // One float32 rounding of an exact sum.
  expectClose(add(a, b), Reference.add(a, b), atol: 0, rtol: 1e-7, "\(shape)")
}

private let activationInputs: [Float] = [
  -10, -5, -3, -1, -0.5, -1e-3, 0, 1e-3, 0.5, 1, 3, 5, 10, 50,
]

@Test func geluMatchesPyTorchValues() {
  // python -c "import torch; x = torch.tensor([-10, -5, -3, -1, -0.5, -1e-3, 0, 1e-3, 0.5, 1, 3,
  //   5, 10, 50], dtype=torch.float64); print(torch.nn.functional.gelu(x).tolist())"
  // (torch 2.13, float64, printed to 9 significant digits; float64 makes torch use the exact
  // erf, while its float32 kernel is itself only within ~1.2e-6 of exact).
  let expected: [Float] = [
    -0.0, -1.43325786e-06, -0.00404969409, -0.158655254, -0.154268769, -0.000499601058, 0.0,
    0.000500398942, 0.345731231, 0.841344746, 2.99595031, 4.99999857, 10.0, 50.0,
  ]
  let x = Tensor(shape: [activationInputs.count], scalars: activationInputs)
  // torch's -0.0 at x = -10 is 1 + erf cancelling in float64; the true value is -7.6e-23.
  expectClose(
    gelu(x), Tensor(shape: x.shape, scalars: expected), atol: geluTolerance.atol,
    rtol: geluTolerance.rtol)
}

@Test func quickGeluMatchesPyTorchValues() {
  // python -c "import torch; x = torch.tensor([-10, -5, -3, -1, -0.5, -1e-3, 0, 1e-3, 0.5, 1, 3,
  //   5, 10, 50], dtype=torch.float64); print((x * torch.sigmoid(1.702 * x)).tolist())"
  // (as transformers' QuickGELUActivation; float64, printed to 9 significant digits)
  let expected: [Float] = [
    -4.05796129e-07, -0.00100701627, -0.0180713097, -0.154204234, -0.149611563, -0.0004995745,
    0.0, 0.0005004255, 0.350388437, 0.845795766, 2.98192869, 4.99899298, 9.99999959, 50.0,
  ]
  let x = Tensor(shape: [activationInputs.count], scalars: activationInputs)
  expectClose(
    quickGelu(x), Tensor(shape: x.shape, scalars: expected), atol: quickGeluTolerance.atol,
    rtol: quickGeluTolerance.rtol)
}

@Test func activationsHandleNonFiniteInputs() {
  // python -c "import torch; x = torch.tensor([float('-inf'), float('inf'), float('nan'), -1000.]);
  //   print(torch.nn.functional.gelu(x).tolist(), (x * torch.sigmoid(1.702 * x)).tolist())"
  // -> [nan, nan, nan, -0.0] [nan, inf, nan, -0.0]
  // Same, except that gelu(+inf) is +inf here (the limit), where torch's kernel gives NaN.
  let x = Tensor(shape: [4], scalars: [-.infinity, .infinity, .nan, -1000])
  let g = gelu(x).scalars
  #expect(g[0].isNaN && g[1] == .infinity && g[2].isNaN && g[3] == 0)
  let q = quickGelu(x).scalars
  #expect(q[0].isNaN && q[1] == .infinity && q[2].isNaN && q[3] == 0)
}
