import CLIP
import Core
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
