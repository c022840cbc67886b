import CLIP
import Core
import Foundation
import Media
import TestSupport
import Testing

// The library path from raw image files: StillImage.read -> ImagePreprocessor (the checkpoint's
// preprocessor_config.json) -> CLIPVisionEncoder, against transformers run on the same files
// opened by PIL (fixtures/gen_clip_e2e.py).

private typealias Fixtures = EndToEndFixtures

@Test(arguments: Fixtures.models, AlphaPolicy.allCases)
func imageFilesEncodeLikeTransformers(model: String, policy: AlphaPolicy) throws {
  let (reference, images) = try Fixtures.reference(model)
  try #require(images.count > 1)
  let directory = EncoderFixtures.model(model)
  let encoder = try CLIPVisionEncoder.load(directory: directory)
  var config = try PreprocessorConfig.load(contentsOf: directory + "/preprocessor_config.json")
  config.alphaPolicy = policy
  let pixels = try ImagePreprocessor(config: config).preprocess(
    images.map { try StillImage.read(path: Repository.fixture($0)) })
  let output = try encoder.encode(pixels: pixels)

  let outputs = [
    ("image_embeds", try #require(output.embeds)), ("pooler_output", output.pooled),
    ("last_hidden_state", output.lastHiddenState),
  ]
  for (name, actual) in outputs {
    let expected = try reference.tensor("\(Fixtures.prefix(policy)).\(name)")
    try #require(actual.shape == expected.shape, "\(model) \(name): shape \(actual.shape) vs \(expected.shape)")
    var largest: (exact: Float, jpeg: Float) = (0, 0)
    for (row, image) in images.enumerated() {
      let difference = maxAbsDifference(actual.rows(row..<(row + 1)), expected.rows(row..<(row + 1)))
      let tolerance = Fixtures.tolerance(forImage: image, output: name)
      #expect(difference <= tolerance, "\(model) \(policy) \(name) \(image): max abs diff \(difference) > \(tolerance)")
      if Fixtures.isJPEG(image) {
        largest.jpeg = max(largest.jpeg, difference)
      } else {
        largest.exact = max(largest.exact, difference)
      }
    }
    print("\(model) \(policy) \(name): max abs diff \(largest.exact) (JPEG row \(largest.jpeg))")
  }
}

/// The JPEG rows' looser tolerance is the decoder's doing alone: Media's pixels are within 3 levels
/// of Pillow's, and Pillow's pixels, encoded by the library, meet the 1e-4 bar.
@Test(arguments: Fixtures.models)
func jpegGapIsTheDecoder(model: String) throws {
  let (reference, images) = try Fixtures.reference(model)
  let pillow = try Fixtures.pillowDecoded()
  let jpegs = images.enumerated().filter { Fixtures.isJPEG($0.element) }
  try #require(!jpegs.isEmpty)
  let directory = EncoderFixtures.model(model)
  let encoder = try CLIPVisionEncoder.load(directory: directory)
  let preprocessor = try ImagePreprocessor(contentsOf: directory + "/preprocessor_config.json")
  for (row, image) in jpegs {
    let (shape, samples) = try pillow.uint8(image)
    try #require(shape.count == 3 && shape[2] == 3)
    let decodedByPillow = PixelImage(width: shape[1], height: shape[0], format: .rgb, pixels: samples)
    let decodedByMedia = try StillImage.read(path: Repository.fixture(image))
    try #require(decodedByMedia.format == .rgb && decodedByMedia.width == shape[1] && decodedByMedia.height == shape[0])
    let decoderGap = PreprocessFixtures.difference(decodedByMedia.pixels, samples)
    print("\(image): \(decoderGap.count) samples differ from Pillow's, by at most \(decoderGap.max)")
    #expect(decoderGap.max <= Fixtures.jpegSampleDifference)

    let output = try encoder.encode(pixels: Tensor.stack([try preprocessor.preprocess(decodedByPillow)]))
    let outputs = [
      ("image_embeds", try #require(output.embeds)), ("pooler_output", output.pooled),
      ("last_hidden_state", output.lastHiddenState),
    ]
    for (name, actual) in outputs {
      let expected = try reference.tensor("composite.\(name)").rows(row..<(row + 1))
      let difference = maxAbsDifference(actual, expected)
      print("\(model) \(image) from Pillow's pixels \(name): max abs diff \(difference)")
      #expect(difference <= Fixtures.tolerance, "\(model) \(image) \(name): max abs diff \(difference)")
    }
  }
}
