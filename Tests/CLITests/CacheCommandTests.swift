import CLIP
import Core
import Foundation
import Media
import TestSupport
import Testing
import Video

/// A temporary cache holding two entries of one recipe (3 and 5 frames) and one of another
/// (2 frames, with tokens), written through the library as `mmencode video` writes them.
private final class TestCache {
  private let directory: TemporaryDirectory
  var root: String { directory.path }
  let recipe: FrameRecipe
  let tokensRecipe: FrameRecipe
  let entries: [String]

  init() throws {
    directory = try TemporaryDirectory()
    var recipe = FrameRecipe(
      decoder: ["libavcodec": "59.37.100"], color: ColorSettings(),
      preprocessing: PreprocessingRecipe(PreprocessorConfig()),
      modelSHA256: String(repeating: "aa", count: 32), output: .embeddings)
    self.recipe = recipe
    recipe.output = .embeddingsAndTokens
    recipe.modelSHA256 = String(repeating: "bb", count: 32)
    tokensRecipe = recipe
    let cache = EmbeddingCache(root: directory.path)
    var entries: [String] = []
    for (n, frames, recipe) in [(1, 3, self.recipe), (2, 5, self.recipe), (3, 2, tokensRecipe)] {
      let source = SourceID(sha256: String(repeating: "0\(n)", count: 32), streamIndex: 0)
      let pts = (0..<frames).map { Int64($0) }
      _ = try cache.update(source: source, recipe: recipe) { _ in
        FrameEmbeddings(
          pts: pts, timestamps: pts.map(Double.init), frameIndex: pts,
          embeddings: Tensor(repeating: Float(n), shape: [frames, 4]),
          tokens: recipe.output == .embeddingsAndTokens
            ? Tensor(repeating: 1, shape: [frames, 2, 3]) : nil)
      }
      entries.append(cache.entryPath(recipeID: recipe.id, source: source))
    }
    self.entries = entries
  }
}

@Test func statsCountsEntriesFramesAndBytesPerRecipe() throws {
  let cache = try TestCache()
  let result = try CLI.run(["cache", "stats", "--json", "--cache", cache.root])
  #expect(result.status == 0, "stderr: \(result.stderr)")
  let stats = try JSONDecoder().decode(CacheStats.self, from: Data(result.stdout.utf8))
  #expect(stats.entries == 3 && stats.frames == 10 && stats.unreadable == 0)
  let sizes = try cache.entries.map {
    try FileManager.default.attributesOfItem(atPath: $0)[.size] as! Int
  }
  #expect(stats.bytes == Int64(sizes.reduce(0, +)))
  #expect(stats.totalBytes > stats.bytes)
  let plain = try #require(stats.recipes.first { $0.id == cache.recipe.id })
  #expect(plain.entries == 2 && plain.frames == 8 && plain.bytes == Int64(sizes[0] + sizes[1]))
  #expect(plain.modelSHA256 == cache.recipe.modelSHA256 && plain.output == "embeddings")
  let tokens = try #require(stats.recipes.first { $0.id == cache.tokensRecipe.id })
  #expect(tokens.entries == 1 && tokens.frames == 2 && tokens.output == "embeddings+tokens")

  let text = try CLI.run(["cache", "stats"], environment: ["MMENCODE_CACHE": cache.root])
  #expect(text.status == 0)
  #expect(text.stdout.contains("3 entries, 10 frames"), "\(text.stdout)")
  #expect(text.stdout.contains("recipe \(cache.tokensRecipe.id): 1 entries, 2 frames"))
}

@Test func verifyPassesASoundCacheAndListsDamagedEntries() throws {
  let cache = try TestCache()
  let sound = try CLI.run(["cache", "verify", "--cache", cache.root])
  #expect(sound.status == 0, "stdout: \(sound.stdout) stderr: \(sound.stderr)")
  #expect(sound.stdout.contains("3 entries sound (10 frames), 0 damaged"))

  // Flip a byte in the data of one entry and truncate another.
  var data = try Data(contentsOf: URL(fileURLWithPath: cache.entries[0]))
  data[data.count - 1] ^= 1
  try data.write(to: URL(fileURLWithPath: cache.entries[0]))
  let handle = try #require(FileHandle(forWritingAtPath: cache.entries[2]))
  try handle.truncate(atOffset: 100)
  try handle.close()

  let damaged = try CLI.run(["cache", "verify", "--cache", cache.root])
  #expect(damaged.status != 0)
  let lines = damaged.stdout.split(separator: "\n").filter { $0.hasPrefix("damaged ") }
  #expect(lines.count == 2, "\(damaged.stdout)")
  #expect(lines.contains { $0.hasPrefix("damaged \(cache.entries[0]): data checksum mismatch") })
  #expect(
    lines.contains { $0.hasPrefix("damaged \(cache.entries[2]): not a valid safetensors file") })
  #expect(damaged.stdout.contains("1 entries sound (5 frames), 2 damaged"))

  let repaired = try CLI.run(["cache", "verify", "--delete-damaged", "--cache", cache.root])
  #expect(repaired.status != 0)
  #expect(repaired.stdout.split(separator: "\n").filter { $0.hasSuffix("(deleted)") }.count == 2)
  #expect(!FileManager.default.fileExists(atPath: cache.entries[0]))
  #expect(FileManager.default.fileExists(atPath: cache.entries[1]))
  let after = try CLI.run(["cache", "verify", "--cache", cache.root])
  #expect(after.status == 0)
}

@Test func gcShrinksTheCacheToTheGivenSize() throws {
  let cache = try TestCache()
  let keep = try CLI.run(["cache", "gc", "--max-size", "1G", "--cache", cache.root])
  #expect(keep.status == 0, "stderr: \(keep.stderr)")
  #expect(keep.stdout.hasPrefix("removed 0 entries"))
  #expect(cache.entries.allSatisfy { FileManager.default.fileExists(atPath: $0) })

  let empty = try CLI.run(["cache", "gc", "--max-size", "0", "--cache", cache.root])
  #expect(empty.status == 0, "stderr: \(empty.stderr)")
  #expect(empty.stdout.hasPrefix("removed 3 entries"), "\(empty.stdout)")
  #expect(cache.entries.allSatisfy { !FileManager.default.fileExists(atPath: $0) })
}

@Test func gcRejectsABadSize() throws {
  let cache = try TestCache()
  let result = try CLI.run(["cache", "gc", "--max-size", "5X", "--cache", cache.root])
  #expect(result.status != 0)
  #expect(result.stderr.contains("invalid size '5X'"), "\(result.stderr)")
  #expect(cache.entries.allSatisfy { FileManager.default.fileExists(atPath: $0) })
}
