import ArgumentParser
import Video

/// `--cache DIR` and `--no-cache`: where computed frame embeddings are kept between runs.
struct CacheOptions: ParsableArguments {
  @OptionGroup var location: CacheDirectoryOption

  @Flag(name: .customLong("no-cache"), help: "Neither read nor write the embedding cache.")
  var disabled = false

  func validate() throws {
    if disabled && location.cache != nil { throw ValidationError("give --cache DIR or --no-cache, not both") }
  }

  /// The store to read and write frames through; nil with `--no-cache`.
  func store() -> (any EmbeddingStore)? {
    disabled ? nil : location.embeddingCache
  }
}
