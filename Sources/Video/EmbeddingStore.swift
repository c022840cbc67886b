import Core

/// Per-frame embeddings of one video under one ``FrameRecipe``, sorted by presentation time.
///
/// - `pts`, `timestamps` (seconds), `frameIndex`: `[K]`, strictly increasing `pts`.
/// - `embeddings`: `[K, P]` (the vision tower's projected, unnormalized `image_embeds`).
/// - `tokens`: `[K, 1 + patches, W]` (`last_hidden_state`) when the recipe asks for tokens.
public struct FrameEmbeddings: Sendable, Equatable {
  public var pts: [Int64]
  public var timestamps: [Double]
  public var frameIndex: [Int64]
  public var embeddings: Tensor
  public var tokens: Tensor?

  public init(pts: [Int64], timestamps: [Double], frameIndex: [Int64], embeddings: Tensor, tokens: Tensor?) {
    precondition(pts.count == timestamps.count && pts.count == frameIndex.count, "frame field counts differ")
    precondition(embeddings.rank == 2 && embeddings.shape[0] == pts.count, "embeddings \(embeddings.shape)")
    precondition(tokens == nil || (tokens!.rank == 3 && tokens!.shape[0] == pts.count), "tokens shape")
    self.pts = pts
    self.timestamps = timestamps
    self.frameIndex = frameIndex
    self.embeddings = embeddings
    self.tokens = tokens
  }

  /// Number of frames.
  public var count: Int { pts.count }
}

/// Something wrong with one stored entry; the entry counts as a miss and the run goes on.
public struct CacheWarning: Sendable, Equatable, CustomStringConvertible {
  /// The entry's file.
  public var path: String
  public var reason: String

  public init(path: String, reason: String) {
    self.path = path
    self.reason = reason
  }

  public var description: String { "\(path): \(reason)" }
}

/// Where computed frame embeddings are kept between runs and processes: the seam between the
/// video pipeline and the on-disk cache (``EmbeddingCache``).
///
/// Entries are keyed by the source's content hash and the frame recipe; frames within an entry
/// are keyed by PTS, so a later run with another frame budget reuses every frame it shares.
public protocol EmbeddingStore: Sendable {
  /// The stored frames of `source` under `recipe` whose PTS is in `pts` (possibly none), without
  /// taking any lock. A damaged entry gives no frames and a warning.
  func frames(source: SourceID, recipe: FrameRecipe, pts: Set<Int64>) -> (FrameEmbeddings?, [CacheWarning])

  /// Adds frames to the entry of `source` under `recipe`, holding the entry's writer lock (other
  /// processes wait) while `compute` runs.
  ///
  /// `compute` receives the frames stored at that moment (nil if none, or if the entry is
  /// damaged) and returns the frames to add; the union, keyed by PTS, is written atomically and
  /// returned. Throwing from `compute` leaves the entry as it was.
  func update(
    source: SourceID, recipe: FrameRecipe,
    _ compute: (FrameEmbeddings?) throws -> FrameEmbeddings
  ) throws -> (FrameEmbeddings, [CacheWarning])
}
