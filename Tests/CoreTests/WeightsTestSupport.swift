import Core
import Foundation
import TestSupport

/// `fixtures/weights/<relative>`.
func weightsFixture(_ relative: String) -> String { Repository.fixture("weights/\(relative)") }

/// The bytes of a safetensors file with the given header text and data section.
func safeTensorsBytes(header: String, data: [UInt8] = [], declaredLength: UInt64? = nil) -> Data {
  var out = Data()
  let length = declaredLength ?? UInt64(header.utf8.count)
  withUnsafeBytes(of: length.littleEndian) { out.append(contentsOf: $0) }
  out.append(contentsOf: Array(header.utf8))
  out.append(contentsOf: data)
  return out
}

/// Bit patterns of a float array, so NaNs and signed zeros compare exactly.
func bits(_ values: [Float]) -> [UInt32] { values.map(\.bitPattern) }
func bits(_ values: [Double]) -> [UInt64] { values.map(\.bitPattern) }

/// Whether two named arrays have the same name, shape, dtype and element bits.
func sameBits(_ a: NamedArray, _ b: NamedArray) -> Bool {
  guard a.name == b.name, a.shape == b.shape else { return false }
  switch (a.values, b.values) {
  case (.float32(let x), .float32(let y)): return bits(x) == bits(y)
  case (.float64(let x), .float64(let y)): return bits(x) == bits(y)
  case (.int64(let x), .int64(let y)): return x == y
  default: return false
  }
}
