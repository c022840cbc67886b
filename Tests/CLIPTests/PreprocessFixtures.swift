import CLIP
import Core
import Foundation
import Media
import TestSupport

/// The fixtures fixtures/gen_preprocess.py writes to fixtures/reference/preprocess/.
enum PreprocessFixtures {
  static let directory = Repository.fixtures.appendingPathComponent("reference/preprocess")

  /// Test images (images/<name>.safetensors), as the generator names them.
  static let imageNames = [
    "rgb_97x61", "rgb_13x9_upscale", "rgb_24x24", "rgba_29x43", "la_31x20", "l_40x26",
    "p_18x18_transparency", "p_12x10_transparent_index", "l_23x17_trns_key", "rgb_19x14_trns_key",
    "rgb_1x8", "rgb_60x5",
  ]
  /// Configs every test image goes through (configs/<name>/preprocessor_config.json).
  static let imageConfigNames = ["se24_crop24", "se21_crop26x23", "hw15x18_bilinear_crop16"]
  /// openai/clip-vit-base-patch32's config, used with the 1280x720 frame.
  static let openAIConfigName = "openai_clip_vit_base_patch32"

  static func configPath(_ name: String) -> String {
    directory.appendingPathComponent("configs/\(name)/preprocessor_config.json").path
  }

  /// The config of `name` with `policy`.
  static func config(_ name: String, _ policy: AlphaPolicy) throws -> PreprocessorConfig {
    var config = try PreprocessorConfig.load(contentsOf: configPath(name))
    config.alphaPolicy = policy
    return config
  }

  /// Where an image file keeps the references of a policy: `<prefix>/<config>/resized` and
  /// `<prefix>/<config>/pixel_values` (transformers 4.57 for drop, 5.24 for composite), and
  /// `composite/rgb`, the composited image before the resize.
  static func referencePrefix(_ policy: AlphaPolicy) -> String {
    switch policy {
    case .drop: "drop"
    case .compositeOnWhite: "composite"
    }
  }

  /// A test image: the pixels Pillow decoded from its PNG, and its reference arrays.
  struct TestImage {
    let source: PixelImage
    let file: ReferenceFile
  }

  /// Pixel layouts a Pillow mode may be stored in: transparency from a PNG tRNS chunk (palette
  /// alphas, or a gray or RGB colour key) is stored expanded to an alpha channel, as libpng's tRNS
  /// expansion delivers it.
  private static let formats: [String: [PixelImage.Format]] = [
    "L": [.gray, .grayAlpha], "LA": [.grayAlpha], "RGB": [.rgb, .rgba], "RGBA": [.rgba], "P": [.rgb, .rgba],
  ]

  static func image(_ name: String) throws -> TestImage {
    let file = try ReferenceFile(directory.appendingPathComponent("images/\(name).safetensors").path)
    let (shape, pixels) = try file.uint8("source")
    guard let mode = file.safeTensors.metadata["pil_mode"], let formats = formats[mode], shape.count == 3,
      let format = formats.first(where: { $0.channels == shape[2] })
    else {
      throw FixtureError("\(name): source shape \(shape) does not fit its 'pil_mode' metadata")
    }
    return TestImage(source: PixelImage(width: shape[1], height: shape[0], format: format, pixels: pixels), file: file)
  }

  /// A safetensors reference file, also read as uint8 (which Core's reader does not convert).
  struct ReferenceFile {
    let safeTensors: SafeTensorsFile
    private let bytes: Data

    init(_ path: String) throws {
      safeTensors = try SafeTensorsFile(path: path)
      bytes = try Data(contentsOf: URL(fileURLWithPath: path))
    }

    func uint8(_ name: String) throws -> (shape: [Int], values: [UInt8]) {
      guard let entry = safeTensors.entries[name], entry.dtype == "U8" else {
        throw FixtureError("\(safeTensors.path): no U8 tensor '\(name)'")
      }
      // The data section starts after the 8-byte header length and the header.
      let headerLength = bytes.prefix(8).enumerated().reduce(0) { $0 | Int($1.element) << (8 * $1.offset) }
      let start = 8 + headerLength
      return (entry.shape, [UInt8](bytes[(start + entry.range.lowerBound)..<(start + entry.range.upperBound)]))
    }

    func tensor(_ name: String) throws -> Tensor { try safeTensors.tensor(name) }

    func int64(_ name: String) throws -> [Int64] {
      guard case .int64(let values) = try safeTensors.array(name).values else {
        throw FixtureError("\(safeTensors.path): '\(name)' is not int64")
      }
      return values
    }
  }

  struct FixtureError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
  }

  /// The 1280x720 synthetic frame: fixtures/gen_preprocess.py's `frame_pixels`, re-evaluated.
  static func frame() -> PixelImage {
    let (width, height) = (1280, 720)
    var pixels = [UInt8](repeating: 0, count: width * height * 3)
    for y in 0..<height {
      for x in 0..<width {
        let rgb: (Int, Int, Int)
        switch y / 120 {
        case 0:
          let bar = x / 160
          rgb = (255 * (bar & 1), 255 * ((bar >> 1) & 1), 255 * ((bar >> 2) & 1))
        case 1:
          let check = 255 * ((x / 4 + y / 3) & 1)
          rgb = (check, 255 - check, (x / 16 * 16) & 255)
        case 2:
          if x < 160 {
            var h = UInt32(truncatingIfNeeded: x &* 73856093) ^ UInt32(truncatingIfNeeded: y &* 19349663)
            h = h &* 2654435761
            rgb = (255 * Int((h >> 31) & 1), 255 * Int((h >> 30) & 1), 255 * Int((h >> 29) & 1))
          } else {
            let ramp = x * 255 / (width - 1)
            rgb = (ramp & 255, (ramp + 64) & 255, (ramp + 128) & 255)
          }
        case 3:
          rgb = (x * 255 / (width - 1), y * 255 / (height - 1), (x + y) & 255)
        case 4:
          let line = x % 5 == 0 || (x + y) % 11 == 0 ? 255 : 0
          rgb = (line, y % 4 == 0 ? 255 : 0, 128)
        default:
          let dx = x - 640, dy = y - 660
          let d = (dx * dx + dy * dy) / 300
          let ring = 255 * (d & 1)
          rgb = (ring, (d * 7) & 255, 255 - ring)
        }
        let i = (y * width + x) * 3
        pixels[i] = UInt8(rgb.0)
        pixels[i + 1] = UInt8(rgb.1)
        pixels[i + 2] = UInt8(rgb.2)
      }
    }
    return PixelImage(width: width, height: height, format: .rgb, pixels: pixels)
  }

  static func frameReference() throws -> ReferenceFile {
    try ReferenceFile(directory.appendingPathComponent("frame_1280x720.safetensors").path)
  }

  /// Count of differing elements and the largest absolute difference.
  static func difference<T: BinaryInteger>(_ a: [T], _ b: [T]) -> (count: Int, max: Int) {
    precondition(a.count == b.count)
    var count = 0, largest = 0
    for (x, y) in zip(a, b) where x != y {
      count += 1
      largest = max(largest, abs(Int(x) - Int(y)))
    }
    return (count, largest)
  }
}
