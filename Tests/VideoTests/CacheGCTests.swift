import Foundation
import TestSupport
import Testing
import Video

/// A cache with three single-recipe entries, last used 3, 2 and 1 hours ago.
private func threeEntries(_ directory: TemporaryDirectory) throws -> (EmbeddingCache, [String]) {
  let cache = EmbeddingCache(root: directory.path)
  var paths: [String] = []
  for (n, hoursAgo) in [(1, 3.0), (2, 2.0), (3, 1.0)] {
    // Different frame counts, so sizes differ and the accounting is checked per entry.
    try store(
      (0..<(n * 10)).map { Int64($0 * 40) }, in: cache, source: makeSource(n), recipe: makeRecipe())
    let path = cache.entryPath(recipeID: makeRecipe().id, source: makeSource(n))
    try setModificationTime(path, secondsAgo: hoursAgo * 3600)
    paths.append(path)
  }
  return (cache, paths)
}

@Test func gcEvictsTheLeastRecentlyUsedEntriesUntilTheCacheFits() throws {
  let directory = try TemporaryDirectory()
  let (cache, paths) = try threeEntries(directory)
  // Reading the oldest entry makes it the most recently used.
  _ = cache.frames(source: makeSource(1), recipe: makeRecipe(), pts: [0])
  let sizes = try paths.map(fileSize)
  let total = try cache.stats().totalBytes
  #expect(try cache.stats().bytes == sizes.reduce(0, +))

  // One byte too many: the least recently used entry (source 2) goes, and only it.
  let report = try cache.collectGarbage(maxSize: total - 1)
  #expect(report.removedEntries == 1)
  #expect(report.removedEntryBytes == sizes[1])
  #expect(report.bytesBefore == total)
  #expect(report.bytesAfter == total - sizes[1])
  #expect(paths.map { FileManager.default.fileExists(atPath: $0) } == [true, false, true])
  // Its lock file went with it.
  #expect(!FileManager.default.fileExists(atPath: paths[1] + ".lock"))

  // Room for about one entry: source 3 (used 1 h ago) goes before source 1 (just read).
  let second = try cache.collectGarbage(maxSize: total - sizes[1] - sizes[2])
  #expect(second.removedEntries == 1 && second.removedEntryBytes == sizes[2])
  #expect(paths.map { FileManager.default.fileExists(atPath: $0) } == [true, false, false])
  #expect(second.bytesAfter <= total - sizes[1] - sizes[2])

  // Already small enough: nothing to do.
  let third = try cache.collectGarbage(maxSize: second.bytesAfter)
  #expect(third.removedEntries == 0 && third.bytesAfter == second.bytesAfter)

  // Size zero empties the cache of entries; the recipe description stays.
  let last = try cache.collectGarbage(maxSize: 0)
  #expect(last.removedEntries == 1)
  #expect(try cache.stats().entries == 0)
  let recipeFile =
    "\(directory.path)/v1/\(makeRecipe().id.prefix(2))/\(makeRecipe().id)/recipe.json"
  #expect(last.bytesAfter == (try fileSize(recipeFile)))
}

@Test func gcSkipsAnEntryAWriterHolds() throws {
  let directory = try TemporaryDirectory()
  let (cache, paths) = try threeEntries(directory)
  var held: EntryLock? = try EntryLock.acquire(paths[0] + ".lock")
  let report = try cache.collectGarbage(maxSize: 0)
  #expect(report.busyEntries == 1)
  #expect(report.removedEntries == 2)
  #expect(FileManager.default.fileExists(atPath: paths[0]))
  #expect(FileManager.default.fileExists(atPath: paths[0] + ".lock"))
  withExtendedLifetime(held) {}
  held = nil
  #expect(try cache.collectGarbage(maxSize: 0).removedEntries == 1)
}

@Test func gcRemovesLockFilesOfMissingEntriesUnlessHeld() throws {
  let directory = try TemporaryDirectory()
  let (cache, paths) = try threeEntries(directory)
  let recipeDirectory = (paths[0] as NSString).deletingLastPathComponent
  let orphan = recipeDirectory + "/" + makeSource(9).fileStem + ".safetensors.lock"
  let heldOrphan = recipeDirectory + "/" + makeSource(8).fileStem + ".safetensors.lock"
  #expect(FileManager.default.createFile(atPath: orphan, contents: nil))
  let held = try EntryLock.acquire(heldOrphan)
  let report = try cache.collectGarbage(maxSize: Int64.max)
  #expect(report.removedLocks == 1)
  #expect(!FileManager.default.fileExists(atPath: orphan))
  // A writer holding a lock for an entry it has not written yet keeps it.
  #expect(FileManager.default.fileExists(atPath: heldOrphan))
  // Locks of existing entries stay.
  #expect(paths.allSatisfy { FileManager.default.fileExists(atPath: $0 + ".lock") })
  withExtendedLifetime(held) {}
}

@Test func gcRemovesRecordsOfSourcesThatChanged() throws {
  let directory = try TemporaryDirectory()
  let cache = EmbeddingCache(root: directory.file("cache"))
  for name in ["kept.mp4", "deleted.mp4", "changed.mp4"] {
    try Data(name.utf8).write(to: URL(fileURLWithPath: directory.file(name)))
    try setModificationTime(directory.file(name), secondsAgo: 3600)
    _ = try cache.sourceID(path: directory.file(name), streamIndex: 0)
  }
  try FileManager.default.removeItem(atPath: directory.file("deleted.mp4"))
  try setModificationTime(directory.file("changed.mp4"), secondsAgo: 60)
  let report = try cache.collectGarbage(maxSize: Int64.max)
  #expect(report.removedSourceRecords == 2)
  let left = try FileManager.default.contentsOfDirectory(atPath: directory.file("cache/sources"))
  #expect(left.count == 1)
}

@Test func gcWalksAnEmptyOrMissingCache() throws {
  let directory = try TemporaryDirectory()
  let report = try EmbeddingCache(root: directory.file("none")).collectGarbage(maxSize: 0)
  #expect(report.bytesBefore == 0 && report.bytesAfter == 0 && report.removedEntries == 0)
  #expect(report.removedTemporaries == 0 && report.removedLocks == 0 && report.busyEntries == 0)
  let stats = try EmbeddingCache(root: directory.file("none")).stats()
  #expect(stats.entries == 0 && stats.totalBytes == 0 && stats.recipes.isEmpty)
  #expect(
    try EmbeddingCache(root: directory.file("none")).verify(deleteDamaged: true).verified == 0)
}

@Test func sizesParseWithBinaryUnits() throws {
  let cases: [(String, Int64)] = [
    ("0", 0), ("1234", 1234), ("500M", 500 << 20), ("2G", 2 << 30), ("2g", 2 << 30),
    ("1.5G", 3 << 29), ("10K", 10240), ("1T", 1 << 40), ("500MiB", 500 << 20), ("500MB", 500 << 20),
    ("7B", 7),
  ]
  for (text, bytes) in cases {
    #expect(try ByteSize(parsing: text).bytes == bytes, "\(text)")
  }
  for text in ["", "M", "-1", "5X", "1e3", "1,5G", "B", "nan", "99999999999T"] {
    #expect(throws: CacheError.invalidSize(text)) { try ByteSize(parsing: text) }
  }
}
