import Core
import Foundation
import TestSupport
import Testing

/// What the `mmencode image` tests compare against: fixtures/gen_clip_e2e.py's references
/// (fixtures/reference/clip-e2e/), transformers run on the raw image files.
enum ImageFixtures {
  /// Two CLIPModel checkpoints of different shapes and a CLIPVisionModelWithProjection.
  static let models = ["clip-tiny-a", "clip-tiny-b", "clip-tiny-vision-proj"]
  /// The `--alpha` values and the reference key prefix of each.
  static let policies = ["composite", "drop"]

  /// The bar: PNG, WebP and BMP decode to Pillow's pixels, so only float32 summation
  /// order differs (about 3e-6 seen).
  static let tolerance: Float = 1e-4
  /// JPEG rows, per output: FFmpeg's inverse DCT is not libjpeg-turbo's (samples differ by up to
  /// 3 levels). The same bounds and measurements as CLIPTests' EndToEndFixtures.jpegTolerance,
  /// where jpegGapIsTheDecoder shows that the decoder is the whole difference.
  static let jpegTolerance: [String: Float] = [
    "image_embeds": 0.0075, "pooler_output": 0.01, "last_hidden_state": 0.035,
  ]

  /// The tolerance for `output` in the row of `image`.
  static func tolerance(forImage image: String, output: String) -> Float {
    let isJPEG = ["jpg", "jpeg"].contains((image as NSString).pathExtension.lowercased())
    return isJPEG ? jpegTolerance[output]! : tolerance
  }

  static func model(_ name: String) -> String { Repository.fixture("models/\(name)") }

  /// A good image for runs that are about something else.
  static let goodImage = Repository.fixture("images/rgb8.png")

  /// The reference of `model` and the absolute paths of the images of its rows.
  static func reference(_ model: String) throws -> (file: SafeTensorsFile, images: [String]) {
    let file = try SafeTensorsFile(path: Repository.fixture("reference/clip-e2e/\(model).safetensors"))
    let relative = try JSONDecoder().decode([String].self, from: Data((file.metadata["images"] ?? "").utf8))
    return (file, relative.map(Repository.fixture))
  }

  /// Expects each row of `actual` to be within its image's tolerance of the reference array
  /// `key`, and returns the largest difference over the non-JPEG rows (for the test log).
  @discardableResult
  static func expectRowsMatch(
    _ actual: Tensor, _ reference: SafeTensorsFile, key: String, output: String, images: [String],
    label: String, sourceLocation: SourceLocation = #_sourceLocation
  ) throws -> Float {
    let expected = try reference.tensor(key)
    try #require(actual.shape == expected.shape, "\(label) \(output): shape \(actual.shape) vs \(expected.shape)", sourceLocation: sourceLocation)
    var largest: Float = 0
    for (row, image) in images.enumerated() {
      let difference = maxAbsDifference(actual.rows(row..<(row + 1)), expected.rows(row..<(row + 1)))
      let tolerance = tolerance(forImage: image, output: output)
      #expect(
        difference <= tolerance, "\(label) \(output) \(image): max abs diff \(difference) > \(tolerance)",
        sourceLocation: sourceLocation)
      if tolerance == Self.tolerance { largest = max(largest, difference) }
    }
    print("\(label) \(output): max abs diff \(largest) (rows other than JPEG)")
    return largest
  }
}
