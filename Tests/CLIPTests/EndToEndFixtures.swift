import CLIP
import Core
import Foundation
import TestSupport

/// The raw-file references of fixtures/gen_clip_e2e.py (fixtures/reference/clip-e2e/): transformers'
/// image embeddings of image files opened by PIL, per model and alpha policy.
enum EndToEndFixtures {
  /// Two CLIPModel checkpoints of different shapes and a CLIPVisionModelWithProjection.
  static let models = ["clip-tiny-a", "clip-tiny-b", "clip-tiny-vision-proj"]

  /// The bar for every output: both sides decode the same pixels (Media is Pillow-exact
  /// for PNG, WebP and BMP) and compute in float32 from the same weights.
  static let tolerance: Float = 1e-4

  /// For JPEG rows, per output: Media decodes JPEG with FFmpeg, whose inverse DCT is not
  /// libjpeg-turbo's, so samples differ from Pillow's by up to ``jpegSampleDifference`` levels,
  /// pixel_values by up to 3 / 255 / 0.2613 = 0.045. Through the fixture models (photo420.jpg,
  /// every model and policy) that moved image_embeds by at most 0.0048, pooler_output by 0.0064
  /// and last_hidden_state by 0.0224; the bounds are about 1.5x those. `jpegGapIsTheDecoder`
  /// shows that the decoder is the whole difference.
  static let jpegTolerance: [String: Float] = [
    "image_embeds": 0.0075, "pooler_output": 0.01, "last_hidden_state": 0.035,
  ]

  /// Media's documented bound on JPEG samples against Pillow's.
  static let jpegSampleDifference = 3

  static func isJPEG(_ image: String) -> Bool {
    ["jpg", "jpeg"].contains((image as NSString).pathExtension.lowercased())
  }

  /// The tolerance for `output` in the row of `image` (a path relative to fixtures/).
  static func tolerance(forImage image: String, output: String) -> Float {
    isJPEG(image) ? jpegTolerance[output]! : tolerance
  }

  /// Key prefix of each policy's references.
  static func prefix(_ policy: AlphaPolicy) -> String {
    switch policy {
    case .compositeOnWhite: "composite"
    case .drop: "drop"
    }
  }

  /// The reference of `model` and the images of its rows, relative to fixtures/.
  static func reference(_ model: String) throws -> (file: SafeTensorsFile, images: [String]) {
    let file = try SafeTensorsFile(path: Repository.fixture("reference/clip-e2e/\(model).safetensors"))
    let json = Data((file.metadata["images"] ?? "").utf8)
    let images = try JSONDecoder().decode([String].self, from: json)
    return (file, images)
  }

  /// The pixels Pillow decodes from each JPEG among the images, keyed by its relative path.
  static func pillowDecoded() throws -> PreprocessFixtures.ReferenceFile {
    try PreprocessFixtures.ReferenceFile(Repository.fixture("reference/clip-e2e/pillow-decoded.safetensors"))
  }
}
