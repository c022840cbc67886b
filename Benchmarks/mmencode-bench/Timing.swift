import Core

/// Median wall-clock seconds of `repeats` back-to-back runs of `body`, after `warmUp` untimed runs
/// (first-touch page faults, BLAS buffers, waking the workers).
func medianSeconds(warmUp: Int = 2, repeats: Int = 9, _ body: () -> Void) -> Double {
  for _ in 0..<warmUp { body() }
  let clock = ContinuousClock()
  let times = (0..<repeats).map { _ in
    let elapsed = clock.measure(body).components
    return Double(elapsed.seconds) + Double(elapsed.attoseconds) * 1e-18
  }
  return times.sorted()[repeats / 2]
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
