import CLIP
import Core
import Foundation
import TestSupport
import Testing

/// The long-text fixtures written by `fixtures/gen_longtext.py`: the tiny Long-CLIP `.pt` and its
/// broken variants under `fixtures/torch/`, its Python conversion under
/// `fixtures/models/longclip-tiny/`, and references under `fixtures/reference/longtext/`.
enum LongTextFixtures {
  static let longCLIPModel = "longclip-tiny"
  static let longCLIPCheckpoint = "torch/longclip-tiny.pt"
  /// The generator's head width: the tiny towers are 8 and 12 wide.
  static let headWidth = 4

  /// Absolute tolerance against transformers: both sides compute in float32 from the same
  /// weights, so only summation order differs (observed differences are around 1e-6); 1e-4 is
  /// the bar.
  static let tolerance: Float = 1e-4

  static func reference(_ model: String) throws -> SafeTensorsFile {
    try SafeTensorsFile(path: Repository.fixture("reference/longtext/\(model).safetensors"))
  }

  /// fixtures/reference/longtext/texts.json: the input texts by group.
  struct Texts: Decodable {
    /// Short, ~150-token and 246-token texts (fill Long-CLIP's 248 positions).
    var longClip: [String]
    /// One 300-token text.
    var longClipTooLong: [String]
    /// Texts that fit both fixture CLIP models (40 and 77 positions).
    var clip: [String]
    /// One 90-token text.
    var clipTooLong: [String]
    /// Spec B2's splitter examples and multi-sentence paragraphs.
    var paragraphs: [String]

    enum CodingKeys: String, CodingKey {
      case longClip = "long_clip"
      case longClipTooLong = "long_clip_too_long"
      case clip
      case clipTooLong = "clip_too_long"
      case paragraphs
    }
  }

  static func texts() throws -> Texts {
    let data = try Data(contentsOf: URL(fileURLWithPath: Repository.fixture("reference/longtext/texts.json")))
    return try JSONDecoder().decode(Texts.self, from: data)
  }

  static func tokenizer() throws -> CLIPTokenizer { try TokenizerFixtures.tokenizer() }
}

/// Expects `actual` to match `expected` within `tolerance`, printing the difference so the test
/// log records how close each output is.
func expectClose(
  _ actual: Tensor, _ expected: Tensor, _ label: String,
  tolerance: Float = LongTextFixtures.tolerance, sourceLocation: SourceLocation = #_sourceLocation
) {
  #expect(actual.shape == expected.shape, "\(label): shape \(actual.shape) vs \(expected.shape)",
    sourceLocation: sourceLocation)
  let difference = maxAbsDifference(actual, expected)
  print("\(label): max abs diff \(difference)")
  #expect(difference <= tolerance, "\(label): max abs diff \(difference) > \(tolerance)",
    sourceLocation: sourceLocation)
}

/// Whether two tensors hold the same bits.
func bitIdentical(_ a: Tensor, _ b: Tensor) -> Bool {
  a.shape == b.shape && zip(a.scalars, b.scalars).allSatisfy { $0.bitPattern == $1.bitPattern }
}
