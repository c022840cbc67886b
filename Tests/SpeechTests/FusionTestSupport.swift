import Core
import Foundation
import Speech
import TestSupport

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

/// The speech tests' random inputs, drawn from the shared seeded generator.
extension SeededGenerator {
  /// Uniform in [-1, 1), on a grid of 2^-23.
  mutating func float() -> Float { Float(next() >> 40) / Float(1 << 23) - 1 }
  /// A tensor of `shape` filled with `float()`.
  mutating func tensor(_ shape: [Int]) -> Tensor {
    Tensor(shape: shape, scalars: (0..<shape.reduce(1, *)).map { _ in float() })
  }
}

/// Basis vector `i` of width `d`, times `scale`.
func basis(_ i: Int, _ d: Int, scale: Float = 1) -> [Float] {
  (0..<d).map { $0 == i ? scale : 0 }
}
