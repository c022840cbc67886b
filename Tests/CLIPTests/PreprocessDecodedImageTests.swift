import CLIP
import Core
import Foundation
import Media
import TestSupport
import Testing

// End to end from the PNG files: Media's libpng decoder must hand the preprocessor exactly the
// pixels Pillow decoded (tRNS colour keys expanded to alpha), so that both alpha policies still
// match their transformers references bit for bit.

private typealias Fixtures = PreprocessFixtures

@Test(arguments: Fixtures.imageNames)
func decodedPNGMatchesPillowPixels(imageName: String) throws {
  let stored = try Fixtures.image(imageName).source
  let decoded = try StillImage.read(path: Fixtures.directory.appendingPathComponent("images/\(imageName).png").path)
  try #require(decoded.format == stored.format)
  try #require(decoded.width == stored.width && decoded.height == stored.height)
  let diff = Fixtures.difference(decoded.pixels, stored.pixels)
  #expect(diff.count == 0, "\(imageName): \(diff.count) samples differ, max |diff| \(diff.max)")
}

@Test(arguments: Fixtures.imageNames, AlphaPolicy.allCases)
func decodedPNGPreprocessesLikeTransformers(imageName: String, policy: AlphaPolicy) throws {
  let image = try Fixtures.image(imageName)
  let decoded = try StillImage.read(path: Fixtures.directory.appendingPathComponent("images/\(imageName).png").path)
  for configName in Fixtures.imageConfigNames {
    let config = try Fixtures.config(configName, policy)
    let values = try ImagePreprocessor(config: config).preprocess(decoded)
    let expected = try image.file.tensor("\(Fixtures.referencePrefix(policy))/\(configName)/pixel_values")
    // Same uint8 pipeline on both sides; 1e-6 only allows float32 rounding of rescale+normalize.
    #expect(values.shape == expected.shape)
    let diff = maxAbsDifference(values.scalars, expected.scalars)
    #expect(diff <= 1e-6, "\(imageName) \(configName) \(policy): max |diff| \(diff)")
  }
}
