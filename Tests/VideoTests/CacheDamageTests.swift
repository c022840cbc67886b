import Core
import Foundation
import TestSupport
import Testing
import Video

/// One way an entry file can be wrong, and the reason a read must give.
struct Damage: Sendable, CustomStringConvertible {
  var description: String
  var reason: String
  /// Turns the sound entry at `path` (frames 0, 40, 80 of `source` under `recipe`) into a bad one.
  var apply: @Sendable (_ path: String, _ recipe: FrameRecipe, _ source: SourceID) throws -> Void
}

private func rewrite(
  _ path: String, dropping dropped: String? = nil,
  metadata change: (inout [String: String]) -> Void = { _ in }
) throws {
  let file = try SafeTensorsFile(path: path)
  let arrays = try file.names.filter { $0 != dropped }.map { try file.array($0) }
  var metadata = file.metadata
  change(&metadata)
  try writeSafeTensors(arrays, metadata: metadata, to: path)
}

private func modifyBytes(_ path: String, _ change: (inout Data) -> Void) throws {
  var data = try Data(contentsOf: URL(fileURLWithPath: path))
  change(&data)
  try data.write(to: URL(fileURLWithPath: path))
}

let damages: [Damage] = [
  Damage(description: "truncated", reason: "not a valid safetensors file: tensor 'embeddings'") {
    path, _, _ in
    try modifyBytes(path) { $0.removeLast(5) }
  },
  Damage(description: "empty", reason: "not a valid safetensors file: empty file") { path, _, _ in
    try modifyBytes(path) { $0 = Data() }
  },
  Damage(description: "flipped data byte", reason: "data checksum mismatch") { path, _, _ in
    try modifyBytes(path) { $0[$0.count - 3] ^= 0x10 }
  },
  Damage(description: "garbage", reason: "not a valid safetensors file") { path, _, _ in
    var generator = SystemRandomNumberGenerator()
    try Data((0..<300).map { _ in UInt8.random(in: 0...255, using: &generator) })
      .write(to: URL(fileURLWithPath: path))
  },
  Damage(description: "missing tensor", reason: "tensor 'frame_index' is missing") { path, _, _ in
    try rewrite(path, dropping: "frame_index")
  },
  Damage(description: "another recipe's entry", reason: "entry of recipe") { path, _, source in
    let other = makeRecipe(modelSHA256: String(repeating: "99", count: 32))
    let directory = try TemporaryDirectory()
    let cache = EmbeddingCache(root: directory.path)
    try store([0, 40, 80], in: cache, source: source, recipe: other)
    try FileManager.default.removeItem(atPath: path)
    try FileManager.default.copyItem(
      atPath: cache.entryPath(recipeID: other.id, source: source), toPath: path)
  },
  Damage(
    description: "recipe JSON edited",
    reason: "recipe metadata does not hash to the entry's recipe id"
  ) {
    path, recipe, _ in
    var edited = recipe
    edited.preprocessing.crop = [256, 256]
    let json = String(decoding: try edited.json(), as: UTF8.self)
    try rewrite(path) { $0["cache.recipe"] = json }
  },
  Damage(description: "recipe JSON unreadable", reason: "recipe metadata is not a frame recipe") {
    path, _, _ in
    try rewrite(path) { $0["cache.recipe"] = "{\"schema\": 1" }
  },
  Damage(description: "another source's entry", reason: "entry of source") { path, _, _ in
    try rewrite(path) { $0["cache.source_id"] = makeSource(0xee).description }
  },
  Damage(description: "metadata lacks the checksum", reason: "metadata lacks 'cache.data_sha256'") {
    path, _, _ in
    try rewrite(path) { $0["cache.data_sha256"] = nil }
  },
  Damage(description: "frame count disagrees", reason: "metadata frame count 4 but 3 PTS") {
    path, _, _ in
    try rewrite(path) { $0["cache.frames"] = "4" }
  },
  Damage(description: "PTS out of order", reason: "PTS not strictly increasing at frame 1 (40, 0)")
  {
    path, recipe, source in
    try CacheEntry.write(
      makeFrames([40, 0, 80]), recipe: recipe, recipeID: recipe.id, source: source, to: path)
  },
  Damage(description: "repeated PTS", reason: "PTS not strictly increasing at frame 2 (40, 40)") {
    path, recipe, source in
    try CacheEntry.write(
      makeFrames([0, 40, 40]), recipe: recipe, recipeID: recipe.id, source: source, to: path)
  },
  Damage(description: "a directory", reason: "cannot read: Is a directory") { path, _, _ in
    try FileManager.default.removeItem(atPath: path)
    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: false)
  },
]

@Test(arguments: damages)
func aDamagedEntryIsAMissWithAWarningAndIsReplaced(damage: Damage) throws {
  let directory = try TemporaryDirectory()
  let cache = EmbeddingCache(root: directory.path)
  let recipe = makeRecipe()
  let source = makeSource(1)
  try store([0, 40, 80], in: cache, source: source, recipe: recipe)
  let path = cache.entryPath(recipeID: recipe.id, source: source)
  try damage.apply(path, recipe, source)

  let (frames, warnings) = cache.frames(source: source, recipe: recipe, pts: [0, 40, 80])
  #expect(frames == nil)
  #expect(warnings.count == 1)
  #expect(warnings.first?.path == path)
  #expect(warnings.first?.reason.hasPrefix(damage.reason) == true, "\(warnings)")

  // Other entries are unaffected: the damage is a miss for this entry only.
  try store([0], in: cache, source: makeSource(2), recipe: recipe)
  #expect(cache.frames(source: makeSource(2), recipe: recipe, pts: [0]) == (makeFrames([0]), []))

  if damage.description == "a directory" {
    // Not a file the cache can replace by rename; the write fails with the reason.
    #expect(throws: CacheError.self) { try store([0], in: cache, source: source, recipe: recipe) }
    return
  }
  // The next writer sees no stored frames, is warned, and replaces the entry.
  let (written, writeWarnings) = try cache.update(source: source, recipe: recipe) { stored in
    #expect(stored == nil)
    return makeFrames([0, 40])
  }
  #expect(written == makeFrames([0, 40]))
  #expect(writeWarnings.map(\.path) == [path])
  #expect(
    cache.frames(source: source, recipe: recipe, pts: [0, 40, 80]) == (makeFrames([0, 40]), []))
  #expect(try cache.verify(deleteDamaged: false).damaged.isEmpty)
}

@Test func anInterruptedWriteLeavesOnlyATemporaryFileThatReadersIgnore() throws {
  let directory = try TemporaryDirectory()
  let cache = EmbeddingCache(root: directory.path)
  let recipe = makeRecipe()
  let source = makeSource(1)
  try store([0, 40], in: cache, source: source, recipe: recipe)
  let path = cache.entryPath(recipeID: recipe.id, source: source)

  // What a writer killed between writing and renaming leaves: a partial temporary sibling
  // (named as Core's atomic writer names them); the entry itself is the previous version.
  let bigger = try TemporaryDirectory()
  try store(
    [0, 40, 80, 120], in: EmbeddingCache(root: bigger.path), source: source, recipe: recipe)
  let partial = try Data(
    contentsOf: URL(
      fileURLWithPath: EmbeddingCache(root: bigger.path).entryPath(
        recipeID: recipe.id, source: source)))
  let entryName = (path as NSString).lastPathComponent
  let directoryPath = (path as NSString).deletingLastPathComponent
  let stale = "\(directoryPath)/.\(entryName).4242.17.tmp"
  let fresh = "\(directoryPath)/.\(entryName).4243.18.tmp"
  try partial.prefix(partial.count / 2).write(to: URL(fileURLWithPath: stale))
  try partial.prefix(partial.count / 3).write(to: URL(fileURLWithPath: fresh))
  try setModificationTime(stale, secondsAgo: 2 * 3600)

  #expect(
    cache.frames(source: source, recipe: recipe, pts: [0, 40, 80, 120]) == (
      makeFrames([0, 40]), []
    ))
  let verification = try cache.verify(deleteDamaged: false)
  #expect(verification.verified == 1 && verification.damaged.isEmpty)
  #expect(try cache.stats().entries == 1)

  // gc removes the leftover older than an hour and keeps the one a live writer may own.
  let report = try cache.collectGarbage(maxSize: Int64.max)
  #expect(report.removedTemporaries == 1)
  #expect(report.removedEntries == 0)
  #expect(!FileManager.default.fileExists(atPath: stale))
  #expect(FileManager.default.fileExists(atPath: fresh))
  #expect(cache.frames(source: source, recipe: recipe, pts: [0, 40]) == (makeFrames([0, 40]), []))
}
