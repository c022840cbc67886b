import Foundation

/// A dense, row-major array of `Float` with a shape.
///
/// Storage is a Swift array, so copies are cheap until one side writes (copy on write). Float16 and
/// BFloat16 weights are widened to Float32 when they are loaded; all math runs in Float32.
public struct Tensor: Sendable, Equatable {
  /// Extent of each axis, outermost first.
  public private(set) var shape: [Int]
  /// The elements in row-major order; `scalars.count == shape.reduce(1, *)`.
  public var scalars: [Float]

  /// Wraps `scalars` with `shape`. The element count must match the shape.
  public init(shape: [Int], scalars: [Float]) {
    precondition(shape.allSatisfy { $0 >= 0 }, "negative extent in shape \(shape)")
    precondition(
      shape.reduce(1, *) == scalars.count,
      "shape \(shape) needs \(shape.reduce(1, *)) scalars, got \(scalars.count)")
    self.shape = shape
    self.scalars = scalars
  }

  /// A tensor of `shape` filled with `value`.
  public init(repeating value: Float, shape: [Int]) {
    self.init(shape: shape, scalars: [Float](repeating: value, count: shape.reduce(1, *)))
  }

  /// A tensor of `shape` whose elements are written by `initializer`, which must set every one.
  public init(
    uninitializedShape shape: [Int],
    _ initializer: (inout UnsafeMutableBufferPointer<Float>) throws -> Void
  ) rethrows {
    let count = shape.reduce(1, *)
    let scalars = try [Float](unsafeUninitializedCapacity: count) { buffer, initialized in
      try initializer(&buffer)
      initialized = count
    }
    self.init(shape: shape, scalars: scalars)
  }

  /// Number of elements.
  public var count: Int { scalars.count }
  /// Number of axes.
  public var rank: Int { shape.count }

  /// The same elements under another shape with the same element count.
  public func reshaped(_ newShape: [Int]) -> Tensor {
    Tensor(shape: newShape, scalars: scalars)
  }

  /// Elements per index of axis 0 (the size of one "row" of the outermost axis).
  public var rowSize: Int { shape.dropFirst().reduce(1, *) }

  /// Rows `range` of axis 0, as a new tensor of shape `[range.count] + shape[1...]`.
  public func rows(_ range: Range<Int>) -> Tensor {
    precondition(rank >= 1 && range.lowerBound >= 0 && range.upperBound <= shape[0])
    let n = rowSize
    return Tensor(
      shape: [range.count] + shape.dropFirst(),
      scalars: Array(scalars[(range.lowerBound * n)..<(range.upperBound * n)]))
  }

  /// Row `index` of axis 0, with that axis dropped.
  public subscript(index: Int) -> Tensor {
    rows(index..<(index + 1)).reshaped(Array(shape.dropFirst()))
  }

  /// A read-only view of row `index` of axis 0, without copying.
  public func withRow<R>(_ index: Int, _ body: (UnsafeBufferPointer<Float>) throws -> R) rethrows
    -> R
  {
    precondition(rank >= 1 && index >= 0 && index < shape[0])
    let n = rowSize
    return try scalars.withUnsafeBufferPointer {
      try body(UnsafeBufferPointer(rebasing: $0[(index * n)..<((index + 1) * n)]))
    }
  }

  /// Tensors stacked along a new leading axis; all must have the same shape.
  public static func stack(_ tensors: [Tensor]) -> Tensor {
    guard let first = tensors.first else { preconditionFailure("stack of no tensors") }
    precondition(tensors.allSatisfy { $0.shape == first.shape }, "stack needs equal shapes")
    var scalars = [Float]()
    scalars.reserveCapacity(first.count * tensors.count)
    for t in tensors { scalars += t.scalars }
    return Tensor(shape: [tensors.count] + first.shape, scalars: scalars)
  }

  /// Tensors joined along axis 0; all other axes must agree.
  public static func concatenate(_ tensors: [Tensor]) -> Tensor {
    guard let first = tensors.first else { preconditionFailure("concatenate of no tensors") }
    let inner = Array(first.shape.dropFirst())
    precondition(
      tensors.allSatisfy { Array($0.shape.dropFirst()) == inner },
      "concatenate needs equal trailing shapes")
    var scalars = [Float]()
    scalars.reserveCapacity(tensors.reduce(0) { $0 + $1.count })
    for t in tensors { scalars += t.scalars }
    return Tensor(shape: [tensors.reduce(0) { $0 + $1.shape[0] }] + inner, scalars: scalars)
  }

  /// The transpose of a 2-D tensor: `[R, C] -> [C, R]`.
  public func transposed() -> Tensor {
    precondition(rank == 2, "transposed() needs a 2-D tensor, got \(shape)")
    let (r, c) = (shape[0], shape[1])
    return scalars.withUnsafeBufferPointer { src in
      Tensor(uninitializedShape: [c, r]) { dst in
        // Blocked so both sides stay in cache for large matrices.
        let block = 32
        for i0 in stride(from: 0, to: r, by: block) {
          for j0 in stride(from: 0, to: c, by: block) {
            for i in i0..<min(i0 + block, r) {
              for j in j0..<min(j0 + block, c) { dst[j * r + i] = src[i * c + j] }
            }
          }
        }
      }
    }
  }
}

extension Tensor: CustomStringConvertible {
  public var description: String {
    let head = scalars.prefix(6).map { String(format: "%.4g", $0) }.joined(separator: ", ")
    return "Tensor(\(shape), [\(head)\(count > 6 ? ", ..." : "")])"
  }
}
