import ArgumentParser
import Video

/// `--cache DIR` and `--no-cache`: where computed frame embeddings are kept between runs.
struct CacheOptions: ParsableArguments {
  @Option(
    name: .customLong("cache"),
    help: ArgumentHelp(
      "Embedding cache directory (default: $MMENCODE_CACHE, else $XDG_CACHE_HOME/mmencode, else ~/.cache/mmencode).",
      valueName: "dir"))
  var directory: String?

  @Flag(name: .customLong("no-cache"), help: "Neither read nor write the embedding cache.")
  var disabled = false

  func validate() throws {
    if disabled && directory != nil { throw ValidationError("give --cache DIR or --no-cache, not both") }
  }

  /// The store to read and write frames through; nil with `--no-cache`.
  func store() throws -> (any EmbeddingStore)? {
    guard !disabled else { return nil }
    // MERGE(video-cache): construct the on-disk cache here, e.g.
    //   return try EmbeddingCache(root: directory)   // nil: the default root described above
    return nil
  }
}
