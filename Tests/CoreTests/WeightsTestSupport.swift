import Core
import Foundation

/// The repository root: the nearest directory above this file that holds `Package.swift`.
let repositoryRoot: URL = {
  var url = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
  while !FileManager.default.fileExists(atPath: url.appendingPathComponent("Package.swift").path) {
    url.deleteLastPathComponent()
  }
  return url
}()

/// `fixtures/weights/<relative>`.
func weightsFixture(_ relative: String) -> String {
  repositoryRoot.appendingPathComponent("fixtures/weights/\(relative)").path
}

/// A fresh directory under the system temporary directory, removed when this object goes.
final class TemporaryDirectory {
  let path: String

  init() throws {
    path = FileManager.default.temporaryDirectory.appendingPathComponent("mmencode-\(UUID())").path
    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
  }

  deinit { try? FileManager.default.removeItem(atPath: path) }

  /// `name` inside the directory.
  func file(_ name: String) -> String { path + "/" + name }

  /// Names in the directory (hidden ones included), sorted.
  func listing() throws -> [String] {
    try FileManager.default.contentsOfDirectory(atPath: path).sorted()
  }
}

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
