import Core
import Foundation
import Video

/// An ``EmbeddingStore`` kept in memory, for tests of the pipeline before and apart from the
/// on-disk cache: entries keyed by source and recipe, frames merged by PTS, one lock held while
/// a writer computes (as the protocol requires of every store).
final class MemoryStore: EmbeddingStore, @unchecked Sendable {
  private struct Key: Hashable {
    let source: SourceID
    let recipe: FrameRecipe
  }

  private let lock = NSRecursiveLock()
  private var entries: [Key: FrameEmbeddings] = [:]

  /// Whether nothing has been stored.
  var isEmpty: Bool { lock.withLock { entries.isEmpty } }

  func frames(source: SourceID, recipe: FrameRecipe, pts: Set<Int64>) -> (FrameEmbeddings?, [CacheWarning]) {
    let entry = lock.withLock { entries[Key(source: source, recipe: recipe)] }
    guard let entry else { return (nil, []) }
    let rows = entry.pts.indices.filter { pts.contains(entry.pts[$0]) }
    return (rows.isEmpty ? nil : entry.selecting(rows), [])
  }

  func update(
    source: SourceID, recipe: FrameRecipe, _ compute: (FrameEmbeddings?) throws -> FrameEmbeddings
  ) throws -> (FrameEmbeddings, [CacheWarning]) {
    lock.lock()
    defer { lock.unlock() }
    let key = Key(source: source, recipe: recipe)
    let current = entries[key]
    let added = try compute(current)
    let merged = current.map { $0.merging(added) } ?? added
    entries[key] = merged
    return (merged, [])
  }
}

extension FrameEmbeddings {
  /// The frames at `rows`, in that order.
  func selecting(_ rows: [Int]) -> FrameEmbeddings {
    func gather(_ tensor: Tensor) -> Tensor {
      Tensor(shape: [rows.count] + tensor.shape.dropFirst(), scalars: rows.flatMap { tensor.withRow($0, Array.init) })
    }
    return FrameEmbeddings(
      pts: rows.map { pts[$0] }, timestamps: rows.map { timestamps[$0] }, frameIndex: rows.map { frameIndex[$0] },
      embeddings: gather(embeddings), tokens: tokens.map(gather))
  }

  /// The union with `other` by PTS (this side's frame where both have one), sorted by PTS.
  func merging(_ other: FrameEmbeddings) -> FrameEmbeddings {
    let both = FrameEmbeddings(
      pts: pts + other.pts, timestamps: timestamps + other.timestamps, frameIndex: frameIndex + other.frameIndex,
      embeddings: Tensor.concatenate([embeddings, other.embeddings]),
      tokens: tokens.flatMap { mine in other.tokens.map { Tensor.concatenate([mine, $0]) } })
    var seen = Set<Int64>()
    let rows = both.pts.indices.sorted { (both.pts[$0], $0) < (both.pts[$1], $1) }.filter { seen.insert(both.pts[$0]).inserted }
    return both.selecting(rows)
  }
}
