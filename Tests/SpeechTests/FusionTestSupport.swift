import Core
import Foundation
import Speech

/// A density that records what it was asked and answers with `values(frames)`.
final class SpyDensity: ContentDensity, @unchecked Sendable {
  private let lock = NSLock()
  private var seen: [Tensor] = []
  private let values: @Sendable (Tensor) -> [Float]

  init(_ values: @escaping @Sendable (Tensor) -> [Float] = { [Float](repeating: 1, count: $0.shape[0]) }) {
    self.values = values
  }

  var calls: [Tensor] {
    lock.lock()
    defer { lock.unlock() }
    return seen
  }

  func density(of frames: Tensor) -> [Float] {
    lock.lock()
    seen.append(frames)
    lock.unlock()
    return values(frames)
  }
}

/// Deterministic pseudo-random numbers (SplitMix64), so tests need no stored inputs.
struct SplitMix {
  var state: UInt64
  mutating func next() -> UInt64 {
    state &+= 0x9E37_79B9_7F4A_7C15
    var z = state
    z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
    z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
    return z ^ (z >> 31)
  }
  /// Uniform in [-1, 1).
  mutating func float() -> Float { Float(next() >> 40) / Float(1 << 23) - 1 }
  mutating func tensor(_ shape: [Int]) -> Tensor {
    Tensor(shape: shape, scalars: (0..<shape.reduce(1, *)).map { _ in float() })
  }
}

/// Basis vector `i` of width `d`, times `scale`.
func basis(_ i: Int, _ d: Int, scale: Float = 1) -> [Float] {
  (0..<d).map { $0 == i ? scale : 0 }
}
