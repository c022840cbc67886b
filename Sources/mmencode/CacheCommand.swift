import ArgumentParser
import Foundation
import Video

/// `--cache DIR`: where frame embeddings are kept between runs.
struct CacheDirectoryOption: ParsableArguments {
  @Option(
    help: ArgumentHelp(
      "Cache directory (default: $\(EmbeddingCache.environmentVariable), else "
        + "$XDG_CACHE_HOME/mmencode, else ~/.cache/mmencode).", valueName: "dir"))
  var cache: String?

  /// The cache at the chosen directory.
  var embeddingCache: EmbeddingCache {
    EmbeddingCache(root: EmbeddingCache.resolveRoot(option: cache))
  }
}

/// `mmencode cache stats|verify|gc`: look after the frame-embedding cache.
struct CacheCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "cache",
    abstract: "Inspect, check and shrink the frame-embedding cache.",
    discussion: """
      Every command is safe while other mmencode processes read and write the cache: entries a \
      writer holds are left alone.
      """,
    subcommands: [Stats.self, Verify.self, GC.self])

  struct Stats: ParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "Count entries, frames and bytes, per recipe.")

    @OptionGroup var location: CacheDirectoryOption

    @Flag(help: "Print one JSON object instead of text.")
    var json = false

    func run() throws {
      let stats = try location.embeddingCache.stats()
      if json {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        print(String(decoding: try encoder.encode(stats), as: UTF8.self))
        return
      }
      print("cache \(stats.root)")
      print(
        "\(stats.entries) entries, \(stats.frames) frames, \(formatBytes(stats.bytes)) in entries, "
          + "\(formatBytes(stats.totalBytes)) in all")
      if stats.unreadable > 0 {
        print("\(stats.unreadable) entries unreadable (see mmencode cache verify)")
      }
      for recipe in stats.recipes {
        print(
          "recipe \(recipe.id): \(recipe.entries) entries, \(recipe.frames) frames, "
            + "\(formatBytes(recipe.bytes)); model \(recipe.modelSHA256 ?? "unknown"), "
            + "output \(recipe.output ?? "unknown")")
      }
    }
  }

  struct Verify: ParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "Check every entry completely; exit non-zero if any is damaged.",
      discussion: """
        Each entry is checked as a read checks it: file structure, recipe and source ids, \
        shapes, PTS order and the data checksum. Damaged files are listed one per line \
        ("damaged <path>: <reason>"). The exit status is non-zero whenever damage was found, \
        also when --delete-damaged removed it.
        """)

    @OptionGroup var location: CacheDirectoryOption

    @Flag(help: "Remove damaged entries (later runs recompute them).")
    var deleteDamaged = false

    func run() throws {
      let report = try location.embeddingCache.verify(deleteDamaged: deleteDamaged)
      let deleted = Set(report.deleted)
      let busy = Set(report.busy)
      for damage in report.damaged {
        var line = "damaged \(damage.path): \(damage.reason)"
        if deleted.contains(damage.path) { line += " (deleted)" }
        if busy.contains(damage.path) { line += " (a writer holds it; not deleted)" }
        print(line)
      }
      print(
        "\(report.verified) entries sound (\(report.frames) frames), "
          + "\(report.damaged.count) damaged")
      if !report.damaged.isEmpty { throw ExitCode.failure }
    }
  }

  struct GC: ParsableCommand {
    static let configuration = CommandConfiguration(
      commandName: "gc",
      abstract: "Remove least recently used entries until the cache fits in a size.",
      discussion: """
        Also removes temporary files older than an hour left by killed writers, lock files of \
        entries that no longer exist, and remembered hashes of changed or deleted sources. \
        Entries being written are skipped, so the cache may stay above the size.
        """)

    @OptionGroup var location: CacheDirectoryOption

    @Option(
      help: ArgumentHelp(
        "Largest total size: bytes, or a number with K, M, G or T (powers of 1024), e.g. 500M.",
        valueName: "size"),
      transform: { try ByteSize(parsing: $0) })
    var maxSize: ByteSize

    func run() throws {
      let report = try location.embeddingCache.collectGarbage(maxSize: maxSize.bytes)
      print(
        "removed \(report.removedEntries) entries (\(formatBytes(report.removedEntryBytes))), "
          + "\(report.removedTemporaries) temporary files, \(report.removedLocks) lock files, "
          + "\(report.removedSourceRecords) source records")
      print(
        "cache \(formatBytes(report.bytesAfter)) (was \(formatBytes(report.bytesBefore))), "
          + "limit \(formatBytes(maxSize.bytes))")
      if report.busyEntries > 0 {
        print("\(report.busyEntries) entries skipped because a writer holds them")
      }
    }
  }
}

/// `1234 B`, `7.4 MiB`.
private func formatBytes(_ bytes: Int64) -> String {
  let units = ["B", "KiB", "MiB", "GiB", "TiB"]
  var value = Double(bytes)
  var unit = 0
  while value >= 1024 && unit < units.count - 1 {
    value /= 1024
    unit += 1
  }
  return unit == 0 ? "\(bytes) B" : String(format: "%.1f", value) + " " + units[unit]
}
