import Core

/// Median wall-clock seconds of each body, after `warmUp` untimed rounds (first-touch page
/// faults, BLAS buffers, thread start-up). Rounds interleave the bodies, so load from other
/// processes falls on all of them alike and their ratios stay fair.
func medianSeconds(warmUp: Int = 2, repeats: Int = 9, _ bodies: [() -> Void]) -> [Double] {
  for _ in 0..<warmUp { for body in bodies { body() } }
  let clock = ContinuousClock()
  var times = [[Double]](repeating: [], count: bodies.count)
  for _ in 0..<repeats {
    for (i, body) in bodies.enumerated() {
      let elapsed = clock.measure(body).components
      times[i].append(Double(elapsed.seconds) + Double(elapsed.attoseconds) * 1e-18)
    }
  }
  return times.map { $0.sorted()[repeats / 2] }
}

func medianSeconds(warmUp: Int = 2, repeats: Int = 9, _ body: () -> Void) -> Double {
  withoutActuallyEscaping(body) { medianSeconds(warmUp: warmUp, repeats: repeats, [$0])[0] }
}

/// Keeps the optimizer from dropping a computation whose result is otherwise unused.
@inline(never) func consume(_ tensor: Tensor) {
  precondition(tensor.scalars.count == tensor.count)
}

/// A tensor of `shape` with reproducible values in [-1, 1).
func benchmarkTensor(_ shape: [Int], seed: UInt64 = 1) -> Tensor {
  var state = seed
  return Tensor(uninitializedShape: shape) { buffer in
    for i in buffer.indices {
      // 64-bit LCG (Knuth's MMIX constants); the top 24 bits give a uniform float.
      state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
      buffer[i] = Float(state >> 40) / Float(1 << 23) - 1
    }
  }
}
