/// The element values of an array that mmencode reads or writes, in one of the dtypes that its
/// output files use.
public enum ArrayValues: Sendable, Equatable {
  case float32([Float])
  case float64([Double])
  case int64([Int64])

  /// Number of elements.
  public var count: Int {
    switch self {
    case .float32(let v): v.count
    case .float64(let v): v.count
    case .int64(let v): v.count
    }
  }
}

/// A named, shaped array: one entry of a safetensors file or one `.npy` file.
public struct NamedArray: Sendable, Equatable {
  /// The tensor key in a safetensors file, or the file name without `.npy`.
  public var name: String
  /// Extent of each axis, outermost first; `[]` is a scalar.
  public var shape: [Int]
  /// The elements in row-major (C) order; `values.count == shape.reduce(1, *)`.
  public var values: ArrayValues

  /// Wraps `values` with `shape`; the element count must match the shape.
  public init(_ name: String, shape: [Int], values: ArrayValues) {
    precondition(shape.reduce(1, *) == values.count, "\(name): shape \(shape) vs \(values.count)")
    self.name = name
    self.shape = shape
    self.values = values
  }

  /// A float32 array holding `tensor`.
  public init(_ name: String, _ tensor: Tensor) {
    self.init(name, shape: tensor.shape, values: .float32(tensor.scalars))
  }

  /// The values as a ``Tensor``, when they are float32.
  public var tensor: Tensor? {
    if case .float32(let v) = values { return Tensor(shape: shape, scalars: v) }
    return nil
  }
}

extension ArrayValues {
  /// Bytes per element.
  package var elementSize: Int {
    switch self {
    case .float32: MemoryLayout<Float>.size
    case .float64: MemoryLayout<Double>.size
    case .int64: MemoryLayout<Int64>.size
    }
  }

  /// The dtype name a safetensors header uses for these values.
  package var safeTensorsDType: String {
    switch self {
    case .float32: "F32"
    case .float64: "F64"
    case .int64: "I64"
    }
  }

  /// The elements' bytes in memory order (little-endian on every supported host).
  package func withUnsafeBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
    switch self {
    case .float32(let v): try v.withUnsafeBytes(body)
    case .float64(let v): try v.withUnsafeBytes(body)
    case .int64(let v): try v.withUnsafeBytes(body)
    }
  }
}
