import CLIP
import Foundation
import TestSupport

/// The committed tokenizer files and the reference ids that fixtures/gen_tokenizer.py wrote.
enum TokenizerFixtures {
  static let vocabularyDirectory = Repository.fixtures.appendingPathComponent("tokenizer")
  static let referenceDirectory = Repository.fixtures.appendingPathComponent("reference/tokenizer")

  /// One tokenizer for all tests (loading parses a 1 MB vocabulary).
  static func tokenizer() throws -> CLIPTokenizer { try sharedTokenizer.get() }
  private static let sharedTokenizer = Result {
    try CLIPTokenizer(directory: vocabularyDirectory.path)
  }

  static func corpus() throws -> Corpus { try sharedCorpus.get() }
  private static let sharedCorpus = Result { try decode(Corpus.self, from: "corpus.json") }

  static func unicodeReference() throws -> UnicodeReference {
    try decode(UnicodeReference.self, from: "unicode.json")
  }

  private static func decode<T: Decodable>(_ type: T.Type, from name: String) throws -> T {
    let data = try Data(contentsOf: referenceDirectory.appendingPathComponent(name))
    return try JSONDecoder().decode(type, from: data)
  }

  /// fixtures/reference/tokenizer/corpus.json.
  struct Corpus: Decodable {
    struct Case: Decodable {
      var category: String
      var text: String
      /// Start-of-text, content, end-of-text, unpadded.
      var ids: [Int]
      /// Truncated to the context and padded with end-of-text, keyed by context length.
      var padded: [String: [Int]]
      /// open_clip's (OpenAI's) ids, truncated and padded with 0, where its cleaning agrees.
      var zeroPadded: [String: [Int]]?

      enum CodingKeys: String, CodingKey {
        case category, text, ids, padded
        case zeroPadded = "zero_padded"
      }
    }

    /// Text that ftfy's `fix_encoding` (not ported) changes in the reference.
    struct EncodingRepair: Decodable {
      var text: String
      var ftfyFixed: String
      var ids: [Int]

      enum CodingKeys: String, CodingKey {
        case text, ids
        case ftfyFixed = "ftfy_fixed"
      }
    }

    /// Inputs of the throughput measurement, shared with `gen_tokenizer.py bench`.
    struct Bench: Decodable {
      /// Long English text, tokenized `repeats` times over in one call.
      var text: String
      var repeats: Int
      /// Timed runs; the best counts.
      var runs: Int
      /// Short texts, tokenized one by one to CLIP's context.
      var captions: [String]
    }

    var contextLengths: [Int]
    var cases: [Case]
    var encodingRepairs: [EncodingRepair]
    var bench: Bench

    enum CodingKeys: String, CodingKey {
      case cases, bench
      case contextLengths = "context_lengths"
      case encodingRepairs = "fix_encoding"
    }
  }

  /// fixtures/reference/tokenizer/unicode.json.
  struct UnicodeReference: Decodable {
    /// Inclusive [first, last] runs of the scalars each class of the reference regex takes.
    var classes: [String: [[UInt32]]]
    /// Python's `str.lower()` for every scalar it changes.
    var lowercase: [LowercaseEntry]

    struct LowercaseEntry: Decodable {
      var scalar: UInt32
      var lowercase: [UInt32]

      init(from decoder: Decoder) throws {
        var container = try decoder.unkeyedContainer()
        scalar = try container.decode(UInt32.self)
        lowercase = try container.decode([UInt32].self)
      }
    }
  }
}
