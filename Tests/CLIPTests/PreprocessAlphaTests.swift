import CLIP
import Core
import Foundation
import Media
import Testing

// The alpha policies: compositing onto white (transformers 5.24's convert_to_rgb, which is Pillow
// 13's alpha_composite) and dropping (transformers 4.57's convert("RGB")). Integer arithmetic on
// both sides, so every comparison is exact.

private typealias Fixtures = PreprocessFixtures

@Test func defaultPolicyIsCompositeOnWhite() throws {
  #expect(PreprocessorConfig().alphaPolicy == .compositeOnWhite)
  #expect(PreprocessorConfig.defaultAlphaPolicy == .compositeOnWhite)
  let loaded = try PreprocessorConfig.load(contentsOf: Fixtures.configPath("se24_crop24"))
  #expect(loaded.alphaPolicy == .compositeOnWhite)

  // A preprocessor made straight from the file gives transformers 5's values, which for this
  // image differ from transformers 4.57's.
  let image = try Fixtures.image("rgba_29x43")
  let values = try ImagePreprocessor(contentsOf: Fixtures.configPath("se24_crop24")).preprocess(image.source)
  let composite = try image.file.tensor("composite/se24_crop24/pixel_values")
  let drop = try image.file.tensor("drop/se24_crop24/pixel_values")
  #expect(values == composite)
  #expect(values != drop)
}

@Test func policyIDsAreStable() {
  // Recipes and cache keys record these; changing one silently invalidates every cache.
  #expect(AlphaPolicy.compositeOnWhite.rawValue == "composite-white")
  #expect(AlphaPolicy.drop.rawValue == "drop")
  #expect(AlphaPolicy(rawValue: "composite-white") == .compositeOnWhite)
  #expect(AlphaPolicy.allCases.count == 2)
}

/// The RGB image before the resize, against transformers 5.24's `convert_to_rgb` output.
@Test(arguments: Fixtures.imageNames)
func compositingMatchesTransformers5(imageName: String) throws {
  let image = try Fixtures.image(imageName)
  let (shape, expected) = try image.file.uint8("composite/rgb")
  let rgb = ImagePreprocessor.convertToRGB(image.source, alpha: .compositeOnWhite)
  #expect([rgb.height, rgb.width, 3] == shape)
  let diff = Fixtures.difference(rgb.pixels, expected)
  #expect(diff.count == 0, "\(diff.count) samples differ, max |diff| \(diff.max)")
}

/// Every (alpha, sample) pair against transformers 5.24's compositing of the same pairs
/// (alpha_composite_table.safetensors: row = alpha, column = sample).
@Test func compositingMatchesPillowForEveryAlphaAndSample() throws {
  let file = try Fixtures.ReferenceFile(Fixtures.directory.appendingPathComponent("alpha_composite_table.safetensors").path)
  let (shape, table) = try file.uint8("table")
  let levels = Int(UInt8.max) + 1
  try #require(shape == [levels, levels])

  // Row = alpha, column = sample; the channels hold the sample in different orders, so a mix-up
  // of channels or of sample and alpha cannot pass.
  var pixels = [UInt8]()
  for alpha in 0..<levels {
    for sample in 0..<levels {
      pixels += [UInt8(sample), UInt8(levels - 1 - sample), UInt8(sample ^ 0x5A), UInt8(alpha)]
    }
  }
  let rgb = ImagePreprocessor.convertToRGB(
    PixelImage(width: levels, height: levels, format: .rgba, pixels: pixels), alpha: .compositeOnWhite)
  var expected = [UInt8]()
  for alpha in 0..<levels {
    for sample in 0..<levels {
      for channelSample in [sample, levels - 1 - sample, sample ^ 0x5A] {
        expected.append(table[alpha * levels + channelSample])
      }
    }
  }
  let diff = Fixtures.difference(rgb.pixels, expected)
  #expect(diff.count == 0, "\(diff.count) samples differ, max |diff| \(diff.max)")
}

@Test func transparentPixelsTurnWhiteOrKeepTheirColour() {
  let red = PixelImage(width: 2, height: 1, format: .rgba, pixels: [255, 0, 0, 0, 10, 20, 30, 255])
  #expect(ImagePreprocessor.convertToRGB(red, alpha: .compositeOnWhite).pixels == [255, 255, 255, 10, 20, 30])
  #expect(ImagePreprocessor.convertToRGB(red, alpha: .drop).pixels == [255, 0, 0, 10, 20, 30])
  let gray = PixelImage(width: 2, height: 1, format: .grayAlpha, pixels: [7, 0, 9, 255])
  #expect(ImagePreprocessor.convertToRGB(gray, alpha: .compositeOnWhite).pixels == [255, 255, 255, 9, 9, 9])
  #expect(ImagePreprocessor.convertToRGB(gray, alpha: .drop).pixels == [7, 7, 7, 9, 9, 9])
}
