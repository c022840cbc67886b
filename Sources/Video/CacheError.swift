import Foundation

/// Why the embedding cache could not do what was asked. Damaged entries are not errors (they are
/// misses reported as ``CacheWarning``s); these are failures of the cache directory itself or of
/// the frames handed to it.
public enum CacheError: LocalizedError, Equatable, Sendable {
  /// A directory or file of the cache cannot be created, locked, written or listed.
  case unusable(path: String, reason: String)
  /// The source file cannot be examined.
  case unreadableSource(path: String, reason: String)
  /// The source file changed while it was being hashed, so the hash names no real content.
  case sourceChanged(path: String)
  /// Frames to be stored do not fit the entry or the recipe (wrong width, tokens present or not,
  /// repeated PTS).
  case inconsistentFrames(path: String, reason: String)
  /// A size such as `500M` that does not parse.
  case invalidSize(String)

  public var errorDescription: String? {
    switch self {
    case .unusable(let path, let reason): "\(path): cache not usable: \(reason)"
    case .unreadableSource(let path, let reason): "\(path): \(reason)"
    case .sourceChanged(let path): "\(path): file changed while it was being hashed; try again"
    case .inconsistentFrames(let path, let reason): "\(path): cannot store frames: \(reason)"
    case .invalidSize(let text):
      "invalid size '\(text)': expected bytes or a number with K, M, G or T (powers of 1024)"
    }
  }
}
