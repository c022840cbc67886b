import Foundation
import TestSupport

/// Paths of the committed fixtures (made by fixtures/make_media.sh and gen_media_reference.py).
enum Fixtures {
  static func media(_ name: String) -> String { Repository.fixture("media/\(name)") }
  static func image(_ name: String) -> String { Repository.fixture("images/\(name)") }
  static func reference(_ name: String) -> String { Repository.fixture("media/reference/\(name)") }

  /// A JSON manifest written by gen_media_reference.py.
  static func manifest<T: Decodable>(_ name: String, as type: T.Type) throws -> T {
    try JSONDecoder().decode(T.self, from: Data(contentsOf: URL(fileURLWithPath: reference(name))))
  }
}

/// Largest absolute difference between two equally long sample arrays.
func maxDifference(_ a: [UInt8], _ b: [UInt8]) -> Int {
  precondition(a.count == b.count)
  return zip(a, b).map { abs(Int($0) - Int($1)) }.max() ?? 0
}

/// Mean absolute difference between two equally long sample arrays.
func meanDifference(_ a: [UInt8], _ b: [UInt8]) -> Double {
  precondition(a.count == b.count && !a.isEmpty)
  return Double(zip(a, b).map { abs(Int($0) - Int($1)) }.reduce(0, +)) / Double(a.count)
}
