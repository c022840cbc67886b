import Core
import Foundation
import TestSupport
import Testing
import Video

/// `printf abc | sha256sum`.
private let abcSHA256 = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"

/// A hasher over a records directory inside `directory` that counts the files it really hashes.
private func countingHasher(_ directory: TemporaryDirectory, _ tally: Tally<String>) -> SourceHasher
{
  SourceHasher(directory: directory.file("sources")) { path in
    tally.add(path)
    return try sha256(file: path)
  }
}

/// Modification times well outside the racy window.
private let lastYear = Date(timeIntervalSinceNow: -365 * 86400)
private let lastMonth = Date(timeIntervalSinceNow: -30 * 86400)

/// A file holding `text`, last modified at `time`.
private func settledFile(_ path: String, _ text: String, time: Date = lastYear) throws {
  try Data(text.utf8).write(to: URL(fileURLWithPath: path))
  try setModificationTime(path, time)
}

@Test func anUnchangedFileIsHashedOnce() throws {
  let directory = try TemporaryDirectory()
  let video = directory.file("a.mp4")
  try settledFile(video, "abc")
  let tally = Tally<String>()
  let first = try countingHasher(directory, tally).sourceID(path: video, streamIndex: 1)
  #expect(first == SourceID(sha256: abcSHA256, streamIndex: 1))
  // A new hasher (as in a new process) finds the record on disk.
  let second = try countingHasher(directory, tally).sourceID(path: video, streamIndex: 0)
  #expect(second == SourceID(sha256: abcSHA256, streamIndex: 0))
  #expect(tally.total == 1)
  #expect(try FileManager.default.contentsOfDirectory(atPath: directory.file("sources")).count == 1)
}

@Test func aChangedFileIsHashedAgain() throws {
  let directory = try TemporaryDirectory()
  let video = directory.file("a.mp4")
  try settledFile(video, "abc")
  let tally = Tally<String>()
  let hasher = countingHasher(directory, tally)
  _ = try hasher.contentHash(path: video)

  // Same bytes, touched: the time changed, so the file is read again (same hash).
  try setModificationTime(video, lastMonth)
  #expect(try hasher.contentHash(path: video) == abcSHA256)
  #expect(tally.total == 2)

  // New content of another size with the recorded time: the size gives it away.
  try settledFile(video, "abcd", time: lastMonth)
  #expect(try hasher.contentHash(path: video) == (try sha256(file: video)))
  #expect(try hasher.contentHash(path: video) != abcSHA256)
  #expect(tally.total == 3)
}

@Test func aRenamedOrReplacedFileIsHashedAgain() throws {
  let directory = try TemporaryDirectory()
  let video = directory.file("a.mp4")
  try settledFile(video, "abc")
  let tally = Tally<String>()
  let hasher = countingHasher(directory, tally)
  _ = try hasher.contentHash(path: video)
  try FileManager.default.moveItem(atPath: video, toPath: directory.file("b.mp4"))
  #expect(try hasher.contentHash(path: directory.file("b.mp4")) == abcSHA256)
  #expect(tally.total == 2)
  // The same path now names a new file (another inode) with the old path, time and size.
  try settledFile(video, "xyz")
  #expect(try hasher.contentHash(path: video) == (try sha256(file: video)))
  #expect(tally.total == 3)
}

@Test func aFreshlyWrittenFileIsNotRemembered() throws {
  // Within the racy window the file may change again without changing its key.
  let directory = try TemporaryDirectory()
  let video = directory.file("a.mp4")
  try Data("abc".utf8).write(to: URL(fileURLWithPath: video))
  let tally = Tally<String>()
  let hasher = countingHasher(directory, tally)
  #expect(try hasher.contentHash(path: video) == abcSHA256)
  #expect(try hasher.contentHash(path: video) == abcSHA256)
  #expect(tally.total == 2)
}

@Test func aDamagedRecordIsIgnoredAndReplaced() throws {
  let directory = try TemporaryDirectory()
  let video = directory.file("a.mp4")
  try settledFile(video, "abc")
  let tally = Tally<String>()
  let hasher = countingHasher(directory, tally)
  _ = try hasher.contentHash(path: video)
  let records = try FileManager.default.contentsOfDirectory(atPath: directory.file("sources"))
  let record = directory.file("sources/" + records[0])
  try Data("{\"sha256\": \"not a hash\"".utf8).write(to: URL(fileURLWithPath: record))
  #expect(try hasher.contentHash(path: video) == abcSHA256)
  #expect(try hasher.contentHash(path: video) == abcSHA256)
  #expect(tally.total == 2)
}

@Test func aFileChangingWhileHashedIsAnError() throws {
  let directory = try TemporaryDirectory()
  let video = directory.file("a.mp4")
  try settledFile(video, "abc")
  let hasher = SourceHasher(directory: directory.file("sources")) { path in
    let digest = try sha256(file: path)
    let handle = try #require(FileHandle(forWritingAtPath: path))
    try handle.seekToEnd()
    try handle.write(contentsOf: Data("more".utf8))
    try handle.close()
    return digest
  }
  #expect(throws: CacheError.sourceChanged(path: video)) { try hasher.contentHash(path: video) }
}

@Test func aMissingSourceIsAnError() throws {
  let directory = try TemporaryDirectory()
  let hasher = SourceHasher(directory: directory.file("sources"))
  #expect(
    throws: CacheError.unreadableSource(
      path: directory.file("none.mp4"), reason: "No such file or directory")
  ) {
    try hasher.contentHash(path: directory.file("none.mp4"))
  }
  #expect(throws: CacheError.unreadableSource(path: directory.path, reason: "not a regular file")) {
    try hasher.contentHash(path: directory.path)
  }
}
