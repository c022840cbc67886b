import Core
import Foundation
import TestSupport
import Testing
import Video

@Test(arguments: [FrameRecipe.Output.embeddings, .embeddingsAndTokens])
func storedFramesReadBackExactly(output: FrameRecipe.Output) throws {
  let directory = try TemporaryDirectory()
  let recipe = makeRecipe(output: output)
  let source = makeSource(1)
  let pts: [Int64] = [0, 40, 80, 120]
  let expected = makeFrames(pts, tokens: output == .embeddingsAndTokens)
  let (written, warnings) = try EmbeddingCache(root: directory.path).update(
    source: source, recipe: recipe
  ) { stored in
    #expect(stored == nil)
    return expected
  }
  #expect(written == expected)
  #expect(warnings.isEmpty)

  // Another instance (as in another process) reads it from disk.
  let (read, readWarnings) = EmbeddingCache(root: directory.path).frames(
    source: source, recipe: recipe, pts: Set(pts))
  #expect(read == expected)
  #expect(readWarnings.isEmpty)
  let (some, _) = EmbeddingCache(root: directory.path).frames(
    source: source, recipe: recipe, pts: [120, 40, 999])
  #expect(some == makeFrames([40, 120], tokens: output == .embeddingsAndTokens))
  let (none, noneWarnings) = EmbeddingCache(root: directory.path).frames(
    source: source, recipe: recipe, pts: [1, 2])
  #expect(none == nil && noneWarnings.isEmpty)
}

@Test func entriesLiveWhereTheLayoutSays() throws {
  let directory = try TemporaryDirectory()
  let cache = EmbeddingCache(root: directory.path)
  let recipe = makeRecipe()
  let source = makeSource(2, stream: 1)
  try store([0, 40], in: cache, source: source, recipe: recipe)
  let recipeDirectory = "\(directory.path)/v1/\(recipe.id.prefix(2))/\(recipe.id)"
  let entry = "\(recipeDirectory)/\(String(repeating: "02", count: 32))-1.safetensors"
  #expect(cache.entryPath(recipeID: recipe.id, source: source) == entry)
  #expect(FileManager.default.fileExists(atPath: entry))
  let described = try JSONDecoder().decode(
    FrameRecipe.self,
    from: try Data(contentsOf: URL(fileURLWithPath: recipeDirectory + "/recipe.json")))
  #expect(described == recipe)
}

@Test func entryMetadataDescribesTheEntry() throws {
  let directory = try TemporaryDirectory()
  let cache = EmbeddingCache(root: directory.path)
  let recipe = makeRecipe(output: .embeddingsAndTokens)
  let source = makeSource(3)
  try store([0, 40, 80], in: cache, source: source, recipe: recipe)
  let file = try SafeTensorsFile(path: cache.entryPath(recipeID: recipe.id, source: source))
  #expect(file.names == ["embeddings", "frame_index", "pts", "timestamps", "tokens"])
  #expect(file.entries["pts"]?.dtype == "I64" && file.entries["timestamps"]?.dtype == "F64")
  #expect(file.entries["frame_index"]?.dtype == "I64")
  #expect(file.entries["embeddings"]?.shape == [3, testWidth])
  #expect(file.entries["tokens"]?.shape == [3] + testTokenShape)
  let metadata = file.metadata
  #expect(metadata["cache.recipe_id"] == recipe.id)
  #expect(metadata["cache.source_id"] == source.description)
  #expect(metadata["cache.frames"] == "3")
  #expect(metadata["cache.embedding_width"] == String(testWidth))
  #expect(metadata["cache.tokens_per_frame"] == "3" && metadata["cache.token_width"] == "4")
  #expect(metadata["mmencode.version"] == mmencodeVersion)
  let stored = try JSONDecoder().decode(
    FrameRecipe.self, from: Data(metadata["cache.recipe"]!.utf8))
  #expect(stored == recipe)

  // The checksum is the SHA-256 of the tensors' bytes in sorted name order, as documented for
  // Python: hash those bytes through an independent path (Core's file hasher).
  var concatenated = Data()
  for name in file.names {
    switch try file.array(name).values {
    case .float32(let v): v.withUnsafeBytes { concatenated.append(contentsOf: $0) }
    case .float64(let v): v.withUnsafeBytes { concatenated.append(contentsOf: $0) }
    case .int64(let v): v.withUnsafeBytes { concatenated.append(contentsOf: $0) }
    }
  }
  try concatenated.write(to: URL(fileURLWithPath: directory.file("data")))
  #expect(metadata["cache.data_sha256"] == (try sha256(file: directory.file("data"))))
}

@Test func onlyMissingFramesAreComputedAndTheUnionIsStored() throws {
  let directory = try TemporaryDirectory()
  let cache = EmbeddingCache(root: directory.path)
  let recipe = makeRecipe()
  let source = makeSource(4)
  try store([0, 40, 80], in: cache, source: source, recipe: recipe)

  // A run with a larger budget: 40 and 80 come from the cache, 20 and 120 are computed.
  let wanted: Set<Int64> = [20, 40, 80, 120]
  let (hits, _) = cache.frames(source: source, recipe: recipe, pts: wanted)
  #expect(hits?.pts == [40, 80])
  let computed = Tally<Int64>()
  let (merged, _) = try cache.update(source: source, recipe: recipe) { stored in
    let missing = wanted.subtracting(stored?.pts ?? []).sorted()
    missing.forEach(computed.add)
    return makeFrames(missing)
  }
  #expect(computed.snapshot == [20: 1, 120: 1])
  #expect(merged == makeFrames([0, 20, 40, 80, 120]))
  let (all, _) = cache.frames(source: source, recipe: recipe, pts: [0, 20, 40, 80, 120])
  #expect(all == makeFrames([0, 20, 40, 80, 120]))
}

@Test func addedFramesAreSortedAndStoredFramesWin() throws {
  let directory = try TemporaryDirectory()
  let cache = EmbeddingCache(root: directory.path)
  let recipe = makeRecipe()
  let source = makeSource(5)
  try store([40], in: cache, source: source, recipe: recipe)
  var unsorted = makeFrames([80, 40, 0])
  // A different value at an already stored PTS must not replace the stored frame.
  unsorted.embeddings = Tensor(
    shape: unsorted.embeddings.shape,
    scalars: makeFrames([80]).embeddings.scalars + [Float](repeating: -1, count: testWidth)
      + makeFrames([0]).embeddings.scalars)
  let (merged, _) = try cache.update(source: source, recipe: recipe) { _ in unsorted }
  #expect(merged == makeFrames([0, 40, 80]))
}

@Test func framesThatDoNotFitTheEntryAreRejected() throws {
  let directory = try TemporaryDirectory()
  let cache = EmbeddingCache(root: directory.path)
  let recipe = makeRecipe()
  let source = makeSource(6)
  try store([0], in: cache, source: source, recipe: recipe)
  let path = cache.entryPath(recipeID: recipe.id, source: source)
  let before = try Data(contentsOf: URL(fileURLWithPath: path))

  let wide = FrameEmbeddings(
    pts: [40], timestamps: [0.04], frameIndex: [1],
    embeddings: Tensor(repeating: 0, shape: [1, testWidth + 1]), tokens: nil)
  let cases: [(FrameEmbeddings, String)] = [
    (wide, "embedding width \(testWidth + 1), the entry holds \(testWidth)"),
    (makeFrames([40], tokens: true), "the recipe stores no tokens"),
    (makeFrames([40, 40]), "PTS 40 given twice"),
  ]
  for (frames, reason) in cases {
    #expect(throws: CacheError.inconsistentFrames(path: path, reason: reason)) {
      try cache.update(source: source, recipe: recipe) { _ in frames }
    }
  }
  #expect(
    throws: CacheError.inconsistentFrames(
      path: cache.entryPath(recipeID: makeRecipe(output: .embeddingsAndTokens).id, source: source),
      reason: "the recipe stores tokens but none were given")
  ) {
    try cache.update(source: source, recipe: makeRecipe(output: .embeddingsAndTokens)) { _ in
      makeFrames([0])
    }
  }
  #expect(try Data(contentsOf: URL(fileURLWithPath: path)) == before)
}

private struct ComputeFailed: Error {}

@Test func aFailingComputationLeavesTheEntryAsItWas() throws {
  let directory = try TemporaryDirectory()
  let cache = EmbeddingCache(root: directory.path)
  let recipe = makeRecipe()
  let source = makeSource(7)
  try store([0, 40], in: cache, source: source, recipe: recipe)
  #expect(throws: ComputeFailed.self) {
    try cache.update(source: source, recipe: recipe) { _ in throw ComputeFailed() }
  }
  #expect(cache.frames(source: source, recipe: recipe, pts: [0, 40]).0 == makeFrames([0, 40]))
  // And the lock was released: the next writer does not wait forever.
  try store([80], in: cache, source: source, recipe: recipe)
  #expect(
    cache.frames(source: source, recipe: recipe, pts: [0, 40, 80]).0 == makeFrames([0, 40, 80]))
}

@Test func recipesAndSourcesDoNotShareEntries() throws {
  let directory = try TemporaryDirectory()
  let cache = EmbeddingCache(root: directory.path)
  try store([0, 40], in: cache, source: makeSource(8), recipe: makeRecipe())
  let otherModel = makeRecipe(modelSHA256: String(repeating: "77", count: 32))
  #expect(cache.frames(source: makeSource(8), recipe: otherModel, pts: [0, 40]).0 == nil)
  #expect(cache.frames(source: makeSource(9), recipe: makeRecipe(), pts: [0, 40]).0 == nil)
  #expect(cache.frames(source: makeSource(8, stream: 1), recipe: makeRecipe(), pts: [0]).0 == nil)
}

@Test func readsMarkTheEntryAsRecentlyUsed() throws {
  let directory = try TemporaryDirectory()
  let cache = EmbeddingCache(root: directory.path)
  try store([0], in: cache, source: makeSource(10), recipe: makeRecipe())
  let path = cache.entryPath(recipeID: makeRecipe().id, source: makeSource(10))
  try setModificationTime(path, secondsAgo: 86400)
  _ = cache.frames(source: makeSource(10), recipe: makeRecipe(), pts: [0])
  let modified = try #require(
    try FileManager.default.attributesOfItem(atPath: path)[.modificationDate] as? Date)
  #expect(abs(modified.timeIntervalSinceNow) < 60)
}

@Test func theCacheRootFollowsOptionThenEnvironment() {
  let home = ["HOME": "/home/u"]
  #expect(EmbeddingCache.resolveRoot(option: "/c", environment: ["MMENCODE_CACHE": "/m"]) == "/c")
  #expect(
    EmbeddingCache.resolveRoot(
      option: nil,
      environment: home.merging(["MMENCODE_CACHE": "/m", "XDG_CACHE_HOME": "/x"]) { $1 })
      == "/m")
  #expect(
    EmbeddingCache.resolveRoot(
      option: nil, environment: home.merging(["XDG_CACHE_HOME": "/x"]) { $1 })
      == "/x/mmencode")
  // Empty values are unset; a relative XDG_CACHE_HOME is invalid (XDG base directory spec).
  #expect(
    EmbeddingCache.resolveRoot(
      option: "", environment: home.merging(["MMENCODE_CACHE": "", "XDG_CACHE_HOME": "x"]) { $1 })
      == "/home/u/.cache/mmencode")
}
