import CLIP
import Core
import Crypto
import Foundation
import Media

/// The content of a video file: the SHA-256 of its bytes and the video stream used.
///
/// The path is deliberately not part of it: renamed or copied files share cache entries, and two
/// files with the same name never collide.
public struct SourceID: Hashable, Sendable, Codable, CustomStringConvertible {
  /// Lowercase hex SHA-256 of the whole file.
  public var sha256: String
  /// Index of the video stream in the container.
  public var streamIndex: Int

  public init(sha256: String, streamIndex: Int) {
    self.sha256 = sha256
    self.streamIndex = streamIndex
  }

  public var description: String { "\(sha256):\(streamIndex)" }

  /// The entry file name stem, `<sha256>-<stream index>`: the description without its colon,
  /// which `scp`, `rsync` and `tar` read as a host separator.
  public var fileStem: String { "\(sha256)-\(streamIndex)" }

  /// The source named by a ``fileStem``; nil for any other text.
  public init?(fileStem: String) {
    let parts = fileStem.split(separator: "-", omittingEmptySubsequences: false)
    guard parts.count == 2, isSHA256Hex(parts[0]), let stream = Int(parts[1]), stream >= 0,
      String(stream) == parts[1]
    else { return nil }
    self.init(sha256: String(parts[0]), streamIndex: stream)
  }
}

/// Whether `text` is 64 lowercase hex digits, as a SHA-256 is written everywhere in mmencode.
package func isSHA256Hex<S: StringProtocol>(_ text: S) -> Bool {
  text.utf8.count == SHA256.byteCount * 2
    && text.utf8.allSatisfy {
      (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0)
        || (UInt8(ascii: "a")...UInt8(ascii: "f")).contains($0)
    }
}

/// Lowercase hex digits of a digest.
package func hexDigits<D: Sequence<UInt8>>(_ digest: D) -> String {
  let digits = Array("0123456789abcdef".utf8)
  return String(
    decoding: digest.flatMap { [digits[Int($0 >> 4)], digits[Int($0 & 0x0f)]] }, as: UTF8.self)
}

/// Everything that decides the embedding of one decoded frame, except which frames are chosen.
///
/// Two runs whose recipes are equal produce bit-identical frame embeddings, so the cache keys
/// entries on the recipe's hash. The sampler is left out on purpose: frames are reused across
/// frame budgets by PTS.
public struct FrameRecipe: Hashable, Sendable, Codable {
  /// What the cache stores per frame.
  public enum Output: String, Hashable, Sendable, Codable {
    /// `image_embeds` [P].
    case embeddings
    /// `image_embeds` [P] and `last_hidden_state` [1 + patches, W].
    case embeddingsAndTokens = "embeddings+tokens"
  }

  /// Bumped whenever the on-disk entry layout or the meaning of a field changes.
  public static let currentSchema = 1

  public var schema: Int
  /// FFmpeg library versions (`MediaLibraries.versions`).
  public var decoder: [String: String]
  /// YUV -> RGB conversion settings.
  public var color: ColorSettings
  /// Image preprocessing (resize implementation and sizes, crop, rescale, normalization, alpha).
  public var preprocessing: PreprocessingRecipe
  /// SHA-256 of the model's config and weights (`modelHash(directory:)`).
  public var modelSHA256: String
  public var output: Output

  /// A recipe of the current ``currentSchema``; `decoder` defaults to the FFmpeg libraries this
  /// process runs with.
  public init(
    decoder: [String: String] = MediaLibraries.versions, color: ColorSettings,
    preprocessing: PreprocessingRecipe, modelSHA256: String, output: Output
  ) {
    schema = Self.currentSchema
    self.decoder = decoder
    self.color = color
    self.preprocessing = preprocessing
    self.modelSHA256 = modelSHA256
    self.output = output
  }
}

// MARK: Identity

extension FrameRecipe {
  /// The recipe's identity: lowercase hex SHA-256 of ``canonicalBytes``. Cache entries live
  /// under it, so equal recipes share entries and any difference in any field separates them.
  public var id: String { hexDigits(SHA256.hash(data: canonicalBytes)) }

  /// Every setting as a `(name, value)` text pair, sorted by name.
  ///
  /// Names are the recipe's JSON key paths (`preprocessing.mean`, `decoder.libavcodec`), so a test
  /// can check that no encoded field is missing. Absent optionals are left out (absence is
  /// visible because names are framed); numbers use Swift's shortest round-trip spelling, lists
  /// are comma-separated. The colour settings also contribute `color.conversion`, their versioned
  /// description, which covers the scaler flags fixed in code rather than stored in the struct.
  package var canonicalFields: [(name: String, value: String)] {
    var fields: [(String, String)] = [
      ("schema", String(schema)),
      ("color.untaggedMatrix", color.untaggedMatrix.rawValue),
      ("color.conversion", color.canonicalDescription),
      ("preprocessing.resampler", preprocessing.resampler),
      ("preprocessing.convertToRGB", String(preprocessing.convertToRGB)),
      ("preprocessing.alpha", preprocessing.alpha),
      ("modelSHA256", modelSHA256),
      ("output", output.rawValue),
    ]
    for (library, version) in decoder { fields.append(("decoder.\(library)", version)) }
    func add(_ name: String, _ value: String?) {
      if let value { fields.append((name, value)) }
    }
    add("color.matrix", color.matrix?.rawValue)
    add("color.range", color.range?.rawValue)
    add("preprocessing.resize", preprocessing.resize)
    add("preprocessing.crop", preprocessing.crop.map(list))
    add("preprocessing.rescaleFactor", preprocessing.rescaleFactor.map { "\($0)" })
    add("preprocessing.mean", preprocessing.mean.map(list))
    add("preprocessing.std", preprocessing.std.map(list))
    return fields.sorted { $0.0.utf8.lexicographicallyPrecedes($1.0.utf8) }
  }

  /// ``canonicalFields`` framed as `len(name) name len(value) value` per field, lengths as 8-byte
  /// little-endian byte counts, so no two different recipes give the same bytes (vLLM #54283 is
  /// the trap: unframed concatenation lets fields bleed into each other).
  public var canonicalBytes: Data {
    var bytes = Data()
    func append(_ text: String) {
      let utf8 = Array(text.utf8)
      withUnsafeBytes(of: UInt64(utf8.count).littleEndian) { bytes.append(contentsOf: $0) }
      bytes.append(contentsOf: utf8)
    }
    for (name, value) in canonicalFields {
      append(name)
      append(value)
    }
    return bytes
  }

  /// The recipe as JSON with sorted keys, as stored in cache entries and `recipe.json` for
  /// people and tools to read (the ``id`` comes from ``canonicalBytes``, not from this text).
  public func json() throws -> Data {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
    return try encoder.encode(self)
  }
}

private func list<T>(_ values: [T]) -> String {
  values.map { "\($0)" }.joined(separator: ",")
}

/// The image preprocessing part of a ``FrameRecipe``: every setting of a ``PreprocessorConfig``
/// plus the identity of the resampling code.
public struct PreprocessingRecipe: Hashable, Sendable, Codable {
  /// Which resampler produced the pixels; change it whenever the port's output could change.
  public static let resamplerImplementation = "pillow-13.0-port-v1"

  public var resampler: String
  public var convertToRGB: Bool
  /// ``AlphaPolicy`` id.
  public var alpha: String
  /// `shortest_edge=N` or `HxW`, then the filter name; nil when there is no resize.
  public var resize: String?
  /// `[height, width]`, nil when there is no centre crop.
  public var crop: [Int]?
  public var rescaleFactor: Double?
  public var mean: [Double]?
  public var std: [Double]?

  public init(_ config: PreprocessorConfig) {
    resampler = Self.resamplerImplementation
    convertToRGB = config.convertToRGB
    alpha = config.alphaPolicy.rawValue
    resize = config.resize.map { resize in
      let target =
        switch resize.target {
        case .shortestEdge(let edge): "shortest_edge=\(edge)"
        case .size(let height, let width): "\(height)x\(width)"
        }
      return "\(target) \(resize.filter)"
    }
    crop = config.centerCrop.map { [$0.height, $0.width] }
    rescaleFactor = config.rescaleFactor
    mean = config.normalization?.mean
    std = config.normalization?.std
  }
}
