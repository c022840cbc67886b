import Core
import Crypto
import Foundation

/// Names video files by content (``SourceID``), hashing each unchanged file only once.
///
/// The SHA-256 of the whole file is remembered in a small record per (device, inode, size,
/// modification time in ns, absolute path), one file per key in `directory`, written
/// atomically; any change to the file's size or time, or a replacement by another file, gives a
/// new key and a new hash. Nothing is kept in memory, so other processes see the same records.
public struct SourceHasher: Sendable {
  /// Where the records live (`<cache root>/sources`).
  public let directory: String
  private let hashFile: @Sendable (String) throws -> String

  /// A file modified this recently may change again within the same timestamp tick (file system
  /// clocks are coarse), which the key could not notice; such hashes are not remembered. This is
  /// git's "racy clean" rule; 2 s covers the coarsest common clock (FAT).
  package static let racyWindowNanoseconds: Int64 = 2_000_000_000

  /// Records in `directory`; hashes with Core's streamed ``sha256(file:)``.
  public init(directory: String) {
    self.init(directory: directory, hashFile: { try sha256(file: $0) })
  }

  /// Records in `directory`; hashes with `hashFile` (lets tests count hash computations).
  package init(directory: String, hashFile: @escaping @Sendable (String) throws -> String) {
    self.directory = directory
    self.hashFile = hashFile
  }

  /// The identity of stream `streamIndex` of the file at `path`.
  public func sourceID(path: String, streamIndex: Int) throws -> SourceID {
    SourceID(sha256: try contentHash(path: path), streamIndex: streamIndex)
  }

  /// The SHA-256 of the file at `path`, remembered or computed.
  ///
  /// Throws ``CacheError/sourceChanged(path:)`` when the file changes while it is read. A cache
  /// directory that cannot be written only means the hash is not remembered.
  public func contentHash(path: String) throws -> String {
    let key = try SourceKey(path: path)
    let recordPath = directory + "/" + key.recordName
    if let data = FileManager.default.contents(atPath: recordPath),
      let record = try? JSONDecoder().decode(SourceRecord.self, from: data),
      record.key == key, isSHA256Hex(record.sha256)
    {
      return record.sha256
    }
    let started = currentTimeNanoseconds()
    let digest = try hashFile(path)
    guard try SourceKey(path: path) == key else { throw CacheError.sourceChanged(path: path) }
    if key.modifiedNanoseconds + Self.racyWindowNanoseconds < started {
      try? remember(SourceRecord(key: key, sha256: digest), at: recordPath)
    }
    return digest
  }

  private func remember(_ record: SourceRecord, at path: String) throws {
    try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
    try writeAtomically(try encoder.encode(record), to: path)
  }

  /// Whether the record file at `path` still describes the file it names; `cache gc` removes the
  /// others (files deleted, changed or replaced since).
  package static func recordIsCurrent(at path: String) -> Bool {
    guard let data = FileManager.default.contents(atPath: path),
      let record = try? JSONDecoder().decode(SourceRecord.self, from: data),
      let key = try? SourceKey(path: record.key.path)
    else { return false }
    return key == record.key && (path as NSString).lastPathComponent == key.recordName
  }
}

/// What identifies one version of a file without reading it.
struct SourceKey: Codable, Equatable {
  var device: UInt64
  var inode: UInt64
  var size: Int64
  var modifiedNanoseconds: Int64
  /// Absolute, with `.` and `..` resolved.
  var path: String

  init(path given: String) throws {
    let path = URL(fileURLWithPath: given).standardizedFileURL.path
    var info = stat()
    guard stat(path, &info) == 0 else {
      throw CacheError.unreadableSource(path: given, reason: errnoText())
    }
    guard info.st_mode & S_IFMT == S_IFREG else {
      throw CacheError.unreadableSource(path: given, reason: "not a regular file")
    }
    device = UInt64(info.st_dev)
    inode = UInt64(info.st_ino)
    size = Int64(info.st_size)
    modifiedNanoseconds = modificationNanoseconds(info)
    self.path = path
  }

  /// The record's file name: the SHA-256 of the key as text. The four numbers hold no spaces
  /// and the path comes last, so the text is unambiguous.
  var recordName: String {
    let text = "\(device) \(inode) \(size) \(modifiedNanoseconds) \(path)"
    return hexDigits(SHA256.hash(data: Data(text.utf8)))
  }
}

/// One remembered hash.
struct SourceRecord: Codable {
  var key: SourceKey
  var sha256: String
}

/// `st_mtime` with its nanoseconds.
package func modificationNanoseconds(_ info: stat) -> Int64 {
  #if canImport(Darwin)
    Int64(info.st_mtimespec.tv_sec) * 1_000_000_000 + Int64(info.st_mtimespec.tv_nsec)
  #else
    Int64(info.st_mtim.tv_sec) * 1_000_000_000 + Int64(info.st_mtim.tv_nsec)
  #endif
}

/// The wall clock in nanoseconds since the epoch, the scale of file times.
package func currentTimeNanoseconds() -> Int64 {
  var now = timespec()
  clock_gettime(CLOCK_REALTIME, &now)
  return Int64(now.tv_sec) * 1_000_000_000 + Int64(now.tv_nsec)
}
