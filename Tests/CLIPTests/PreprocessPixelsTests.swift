import CLIP
import Core
import Foundation
import Media
import TestSupport
import Testing

// Final pixel_values against transformers' PIL-based CLIP image processor (4.57's slow
// CLIPImageProcessor for the drop policy, 5.24's CLIPImageProcessorPil for composite). Tolerance 1e-6
// absolute: the values stay below 2.2 in magnitude, where a float32 ulp is 2.4e-7, so 1e-6 allows
// a few ulps of float32 rounding in rescale (float64 product cast to float32) and normalize
// (float32 subtract, then divide), and nothing more; any resize or crop error is at least
// 1 / 255 / std ~ 0.014. The port repeats the same float operations, so the difference seen is 0.
private let tolerance: Float = 1e-6

private typealias Fixtures = PreprocessFixtures

/// Both policies on every image: drop against transformers 4.57, composite against 5.24.
@Test(arguments: Fixtures.imageNames, AlphaPolicy.allCases)
func pixelValuesMatchTransformers(imageName: String, policy: AlphaPolicy) throws {
  let image = try Fixtures.image(imageName)
  for configName in Fixtures.imageConfigNames {
    let preprocessor = ImagePreprocessor(config: try Fixtures.config(configName, policy))
    let key = "\(Fixtures.referencePrefix(policy))/\(configName)/pixel_values"
    let expected = try image.file.tensor(key)

    let values = try preprocessor.preprocess(image.source)
    try #require(values.shape == expected.shape, "\(key)")
    #expect(preprocessor.outputShape(width: image.source.width, height: image.source.height) == expected.shape)
    let diff = maxAbsDifference(values.scalars, expected.scalars)
    #expect(diff <= tolerance, "\(key): max |diff| \(diff)")
  }
}

@Test func frame1280x720PixelValuesMatchTransformers() throws {
  // The frame is RGB, so the alpha policy does not matter; the generator checks that
  // transformers 5.24 gives these values too.
  let reference = try Fixtures.frameReference()
  let preprocessor = try ImagePreprocessor(contentsOf: Fixtures.configPath(Fixtures.openAIConfigName))
  let values = try preprocessor.preprocess(Fixtures.frame())
  #expect(values.shape == [3, 224, 224])

  let rows = try reference.int64("pixel_row_indices").map(Int.init)
  let expected = try reference.tensor("pixel_values_rows")
  try #require(expected.shape == [3, rows.count, 224])
  var sampled = [Float]()
  for channel in 0..<3 {
    for row in rows {
      let start = (channel * 224 + row) * 224
      sampled += values.scalars[start..<(start + 224)]
    }
  }
  let diff = maxAbsDifference(sampled, expected.scalars)
  #expect(diff <= tolerance, "max |diff| \(diff)")
}

@Test func batchStacksSingleResults() throws {
  let preprocessor = try ImagePreprocessor(contentsOf: Fixtures.configPath("se21_crop26x23"))
  let images = try ["rgb_97x61", "l_40x26", "rgba_29x43"].map { try Fixtures.image($0).source }
  let batch = try preprocessor.preprocess(images)
  #expect(batch.shape == [3, 3, 26, 23])
  #expect(batch == Tensor.stack(try images.map { try preprocessor.preprocess($0) }))
}

@Test func withoutRGBConversionOnlyRGBIsAccepted() throws {
  var config = PreprocessorConfig()
  config.convertToRGB = false
  let preprocessor = ImagePreprocessor(config: config)
  let rgba = PixelImage(width: 4, height: 4, format: .rgba, pixels: [UInt8](repeating: 9, count: 64))
  #expect(throws: ImagePreprocessingError.notRGB(format: .rgba)) { try preprocessor.preprocess(rgba) }
  let rgb = PixelImage(width: 4, height: 4, format: .rgb, pixels: [UInt8](repeating: 9, count: 48))
  #expect(try preprocessor.preprocess(rgb).shape == [3, 224, 224])
}

@Test func emptyImageIsAnError() {
  let preprocessor = ImagePreprocessor(config: PreprocessorConfig())
  let empty = PixelImage(width: 0, height: 5, format: .rgb, pixels: [])
  #expect(throws: ImagePreprocessingError.emptyImage(width: 0, height: 5)) { try preprocessor.preprocess(empty) }
}

@Test func withoutCropTheResizedShapeIsKeptAndBatchesMustAgree() throws {
  var config = PreprocessorConfig()
  config.resize = .init(target: .shortestEdge(8), filter: .bicubic)
  config.centerCrop = nil
  let preprocessor = ImagePreprocessor(config: config)
  let wide = PixelImage(width: 20, height: 10, format: .gray, pixels: [UInt8](repeating: 3, count: 200))
  let tall = PixelImage(width: 10, height: 20, format: .gray, pixels: [UInt8](repeating: 3, count: 200))
  #expect(try preprocessor.preprocess(wide).shape == [3, 8, 16])
  #expect(throws: ImagePreprocessingError.mismatchedShapes(index: 1, shape: [3, 16, 8], expected: [3, 8, 16])) {
    try preprocessor.preprocess([wide, tall])
  }
}
