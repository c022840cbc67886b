import Foundation
import Media
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

/// The frame number make_media.sh's pattern draws: eight bars across the top half, most
/// significant bit left, bright for 1. Read at each bar's centre, a quarter of the way down.
func drawnFrameNumber(_ image: PixelImage) -> Int {
  precondition(image.format == .rgb)
  var number = 0
  for bit in 0..<8 {
    let x = Int((Double(bit) + 0.5) * Double(image.width) / 8)
    let y = image.height / 4
    let offset = (y * image.width + x) * 3
    let level = (Int(image.pixels[offset]) + Int(image.pixels[offset + 1]) + Int(image.pixels[offset + 2])) / 3
    number = number * 2 + (level > 128 ? 1 : 0)
  }
  return number
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
