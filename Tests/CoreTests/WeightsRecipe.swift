import Core

/// The deterministic arrays of `fixtures/array_recipe.py`, rebuilt in Swift from the same
/// formulas (see that file for what each one exercises).
enum WeightsRecipe {
  static func lcg32(seed: UInt32, count: Int) -> [UInt32] {
    var x = seed
    return (0..<count).map { _ in
      x = 1_664_525 &* x &+ 1_013_904_223
      return x
    }
  }

  static func lcg64(seed: UInt64, count: Int) -> [UInt64] {
    var x = seed
    return (0..<count).map { _ in
      x = 6_364_136_223_846_793_005 &* x &+ 1_442_695_040_888_963_407
      return x
    }
  }

  static let f32Special: [UInt32] = [
    0x0000_0000, 0x8000_0000, 0x3F80_0000, 0xBF80_0000, 0x7F80_0000, 0xFF80_0000, 0x7FC0_0000,
    0xFFC0_0001, 0x7FA0_0001, 0x0000_0001, 0x807F_FFFF, 0x0080_0000, 0x7F7F_FFFF, 0x4049_0FDB,
  ]

  static let f64Special: [UInt64] = [
    0x3FB9_9999_9999_999A, 0x8000_0000_0000_0000, 0x7FE1_CCF3_85EB_C8A0, 0x0000_0000_0000_0001,
    0x7FF0_0000_0000_0000, 0xFFF0_0000_0000_0000, 0x7FF8_0000_0000_0000, 0x000F_FFFF_FFFF_FFFF,
  ]

  static let i64Extremes: [Int64] = [.min, -1, 0, 1, .max, -((1 << 53) + 1)]

  static func float32(_ name: String, _ shape: [Int], _ patterns: [UInt32]) -> NamedArray {
    NamedArray(name, shape: shape, values: .float32(patterns.map(Float.init(bitPattern:))))
  }

  /// `interop_arrays()`, in the same order.
  static var interopArrays: [NamedArray] {
    [
      float32("f32_special", [f32Special.count], f32Special),
      float32("f32_bits", [3, 4, 5], lcg32(seed: 1, count: 60)),
      float32("f32_empty", [0], []),
      float32("f32_empty_middle", [2, 0, 3], []),
      float32("f32_unit_axes", [1, 1, 1], [0x3F00_0000]),
      float32("f32_scalar", [], [0x4049_0FDB]),
      NamedArray(
        "f64_special", shape: [2, 4], values: .float64(f64Special.map(Double.init(bitPattern:)))),
      NamedArray(
        "f64_bits", shape: [7],
        values: .float64(lcg64(seed: 2, count: 7).map(Double.init(bitPattern:)))),
      NamedArray("i64_extremes", shape: [6], values: .int64(i64Extremes)),
      NamedArray(
        "i64_bits", shape: [2, 3],
        values: .int64(lcg64(seed: 3, count: 6).map { Int64(bitPattern: $0) })),
    ]
  }

  static let interopMetadata = [
    "model": "openai/clip-vit-base-patch32",
    "text": "naïve café — 長い動画 🎬 \"quoted\" back\\slash / new\nline\ttab",
    "empty": "",
  ]
}
