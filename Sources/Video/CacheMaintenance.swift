import Core
import Foundation

// `cache stats`, `cache verify` and `cache gc`: whole-cache walks that are safe while other
// processes read and write. Nothing here removes a file a writer may still need: entries,
// their temporary files and lock files are only removed while holding the entry's lock, taken
// without waiting (a busy entry is skipped).

/// What `cache stats` reports.
public struct CacheStats: Sendable, Equatable, Codable {
  /// Entries of one recipe.
  public struct Recipe: Sendable, Equatable, Codable {
    public var id: String
    /// From `recipe.json`, else from an entry; nil when neither is readable.
    public var modelSHA256: String?
    public var output: String?
    public var entries: Int
    public var frames: Int
    public var bytes: Int64
  }

  public var root: String
  public var entries: Int
  public var frames: Int
  /// Size of the entry files.
  public var bytes: Int64
  /// Size of every file under the root (entries, recipe files, source records, leftovers).
  public var totalBytes: Int64
  /// Entries whose header could not be read (`cache verify` says why).
  public var unreadable: Int
  public var recipes: [Recipe]
}

/// What `cache verify` found.
public struct CacheVerification: Sendable, Equatable {
  /// Entries that passed every check.
  public var verified: Int
  /// Frames in them.
  public var frames: Int
  /// Damaged entries (and damaged `recipe.json` files), one per file.
  public var damaged: [CacheWarning]
  /// Damaged files that were removed.
  public var deleted: [String]
  /// Damaged entries left alone because a writer held their lock.
  public var busy: [String]
}

/// What `cache gc` did.
public struct CacheCollection: Sendable, Equatable, Codable {
  public var bytesBefore: Int64
  public var bytesAfter: Int64
  public var removedEntries: Int
  public var removedEntryBytes: Int64
  /// Temporary files of writers that died, older than the age limit.
  public var removedTemporaries: Int
  /// Lock files of entries that no longer exist.
  public var removedLocks: Int
  /// Remembered source hashes of files that were deleted, changed or replaced.
  public var removedSourceRecords: Int
  /// Entries that were due for eviction but held by a writer.
  public var busyEntries: Int
}

/// A byte count given as `1234`, `500M`, `2G`, `1.5T` (K, M, G, T: powers of 1024; an optional
/// trailing `B` or `iB` is accepted, as in `500MiB`).
public struct ByteSize: Sendable, Equatable {
  public var bytes: Int64

  public init(bytes: Int64) { self.bytes = bytes }

  public init(parsing text: String) throws {
    var body = text.trimmingCharacters(in: .whitespaces).uppercased()
    for suffix in ["IB", "B"] where body.hasSuffix(suffix) && body.count > suffix.count {
      body.removeLast(suffix.count)
      break
    }
    let units: [Character: Double] = ["K": 0x1p10, "M": 0x1p20, "G": 0x1p30, "T": 0x1p40]
    var multiplier = 1.0
    if let last = body.last, let unit = units[last] {
      multiplier = unit
      body.removeLast()
    }
    guard !body.isEmpty, body.allSatisfy({ $0.isASCII && ($0.isNumber || $0 == ".") }),
      let number = Double(body), number.isFinite
    else { throw CacheError.invalidSize(text) }
    let value = (number * multiplier).rounded(.down)
    guard value < Double(Int64.max) else { throw CacheError.invalidSize(text) }
    bytes = Int64(value)
  }
}

extension EmbeddingCache {
  /// Leftover temporary files younger than this (seconds) may belong to a live writer.
  public static let temporaryFileMaximumAge: TimeInterval = 3600

  // MARK: stats

  /// Counts entries, frames and bytes, per recipe, from the entries' headers.
  public func stats() throws -> CacheStats {
    let listing = try CacheListing(root: root)
    var recipes: [CacheStats.Recipe] = []
    var unreadable = 0
    for directory in listing.recipes {
      var described = directory.recipe
      var recipe = CacheStats.Recipe(
        id: directory.id, modelSHA256: nil, output: nil, entries: 0, frames: 0, bytes: 0)
      for entry in directory.entries {
        guard let file = try? SafeTensorsFile(path: entry.path),
          let frames = file.entries[CacheEntry.TensorName.pts]?.shape.first
        else {
          unreadable += 1
          continue
        }
        if described == nil, let json = file.metadata[CacheEntry.Metadata.recipe] {
          described = try? JSONDecoder().decode(FrameRecipe.self, from: Data(json.utf8))
        }
        recipe.entries += 1
        recipe.frames += frames
        recipe.bytes += entry.size
      }
      recipe.modelSHA256 = described?.modelSHA256
      recipe.output = described?.output.rawValue
      recipes.append(recipe)
    }
    return CacheStats(
      root: root, entries: recipes.map(\.entries).reduce(0, +),
      frames: recipes.map(\.frames).reduce(0, +), bytes: recipes.map(\.bytes).reduce(0, +),
      totalBytes: listing.totalBytes, unreadable: unreadable, recipes: recipes)
  }

  // MARK: verify

  /// Verifies every entry completely (as a read does: structure, ids, recipe, shapes, PTS order,
  /// checksum) and every `recipe.json`; with `deleteDamaged`, removes what is damaged, skipping
  /// entries a writer holds (it is replacing them anyway).
  public func verify(deleteDamaged: Bool) throws -> CacheVerification {
    var report = CacheVerification(verified: 0, frames: 0, damaged: [], deleted: [], busy: [])
    for directory in try CacheListing(root: root).recipes {
      if let problem = directory.recipeFileProblem {
        report.damaged.append(CacheWarning(path: directory.recipeFile, reason: problem))
        if deleteDamaged && unlink(directory.recipeFile) == 0 {
          report.deleted.append(directory.recipeFile)
        }
      }
      for entry in directory.entries {
        let source = SourceID(fileStem: entry.stem)!
        func check() -> Result<VerifiedEntry, EntryProblem> {
          VerifiedEntry.open(entry.path, recipeID: directory.id, source: source)
        }
        switch check() {
        case .success(let verified):
          report.verified += 1
          report.frames += verified.count
        case .failure(.missing):
          continue
        case .failure(.damaged(let reason)):
          guard deleteDamaged else {
            report.damaged.append(CacheWarning(path: entry.path, reason: reason))
            continue
          }
          guard let lock = try EntryLock.tryAcquire(entry.path + Self.lockSuffix) else {
            report.damaged.append(CacheWarning(path: entry.path, reason: reason))
            report.busy.append(entry.path)
            continue
          }
          // A writer may have replaced the entry since the first look.
          switch check() {
          case .success(let verified):
            report.verified += 1
            report.frames += verified.count
          case .failure(.missing):
            break
          case .failure(.damaged(let reason)):
            report.damaged.append(CacheWarning(path: entry.path, reason: reason))
            if unlink(entry.path) == 0 { report.deleted.append(entry.path) }
          }
          if !FileManager.default.fileExists(atPath: entry.path) { lock.removeFile() }
        }
      }
    }
    return report
  }

  // MARK: gc

  /// Removes leftovers (temporary files older than `temporaryAge` seconds whose entry no
  /// writer holds, lock files of missing entries, stale source records), then the least recently
  /// used entries until every file under the root together takes at most `maxSize` bytes.
  /// Entries held by a writer are skipped, so the result may stay above `maxSize`.
  public func collectGarbage(
    maxSize: Int64, temporaryAge: TimeInterval = temporaryFileMaximumAge, now: Date = Date()
  ) throws -> CacheCollection {
    let ageLimit = Int64(temporaryAge * 1e9)
    let now = Int64(now.timeIntervalSince1970 * 1e9)
    let before = try CacheListing(root: root)
    var report = CacheCollection(
      bytesBefore: before.totalBytes, bytesAfter: 0, removedEntries: 0, removedEntryBytes: 0,
      removedTemporaries: 0, removedLocks: 0, removedSourceRecords: 0, busyEntries: 0)

    for directory in before.recipes {
      for temporary in directory.temporaries where now - temporary.modified > ageLimit {
        guard let entry = temporary.entryName else {
          if unlink(temporary.path) == 0 { report.removedTemporaries += 1 }
          continue
        }
        // The temporary file of a live writer is younger than the limit unless the writer was
        // stopped; a stopped writer still holds the entry's lock.
        let entryPath = directory.path + "/" + entry
        guard let lock = try EntryLock.tryAcquire(entryPath + Self.lockSuffix) else { continue }
        if unlink(temporary.path) == 0 { report.removedTemporaries += 1 }
        if !FileManager.default.fileExists(atPath: entryPath) { lock.removeFile() }
      }
      for lockFile in directory.locks {
        let entryPath = String(lockFile.path.dropLast(Self.lockSuffix.count))
        if FileManager.default.fileExists(atPath: entryPath) { continue }
        guard let lock = try EntryLock.tryAcquire(lockFile.path) else { continue }
        if !FileManager.default.fileExists(atPath: entryPath) {
          lock.removeFile()
          report.removedLocks += 1
        }
      }
    }
    for record in before.sourceRecords {
      if record.isTemporary {
        if now - record.modified > ageLimit && unlink(record.path) == 0 {
          report.removedTemporaries += 1
        }
      } else if !SourceHasher.recordIsCurrent(at: record.path) && unlink(record.path) == 0 {
        report.removedSourceRecords += 1
      }
    }

    let current = try CacheListing(root: root)
    var total = current.totalBytes
    let entries = current.recipes.flatMap(\.entries).sorted {
      ($0.modified, $0.path) < ($1.modified, $1.path)
    }
    for entry in entries where total > maxSize {
      guard let lock = try EntryLock.tryAcquire(entry.path + Self.lockSuffix) else {
        report.busyEntries += 1
        continue
      }
      // Under the lock the entry cannot change; if it was read or rewritten since the listing
      // it is no longer least recently used.
      var info = stat()
      guard lstat(entry.path, &info) == 0 else {
        lock.removeFile()
        continue
      }
      if modificationNanoseconds(info) != entry.modified { continue }
      if unlink(entry.path) == 0 {
        total -= Int64(info.st_size)
        report.removedEntries += 1
        report.removedEntryBytes += Int64(info.st_size)
      }
      lock.removeFile()
    }
    report.bytesAfter = try CacheListing(root: root).totalBytes
    return report
  }
}

/// The files under a cache root, classified, with sizes and modification times.
struct CacheListing {
  struct File {
    var path: String
    var size: Int64
    /// Modification time, ns since the epoch.
    var modified: Int64
    /// The name without directory.
    var name: String { (path as NSString).lastPathComponent }
    /// The entry name without `.safetensors`.
    var stem: String { String(name.dropLast(CacheEntry.fileExtension.count + 1)) }
    /// `.<target>.<pid>.<random>.tmp`, as Core's atomic writer names its temporary files.
    var isTemporary: Bool { name.hasPrefix(".") && name.hasSuffix(".tmp") }
    /// For a temporary file, the name of the file it was going to replace.
    var entryName: String? {
      let parts = name.dropFirst().split(separator: ".", omittingEmptySubsequences: false)
      guard isTemporary, parts.count > 3 else { return nil }
      let target = parts.dropLast(3).joined(separator: ".")
      return target.hasSuffix("." + CacheEntry.fileExtension) ? target : nil
    }
  }

  struct RecipeDirectory {
    var id: String
    var path: String
    var entries: [File] = []
    var locks: [File] = []
    var temporaries: [File] = []
    var recipeFile: String { path + "/" + EmbeddingCache.recipeFileName }
    /// The recipe in `recipe.json`, when it is present and sound.
    var recipe: FrameRecipe?
    /// Why `recipe.json` is damaged (nil when sound or absent: writers re-create it).
    var recipeFileProblem: String?
  }

  var recipes: [RecipeDirectory] = []
  var sourceRecords: [File] = []
  /// Every regular file under the root.
  var totalBytes: Int64 = 0

  init(root: String) throws {
    let cache = EmbeddingCache(root: root)
    for fanOut in try Self.names(in: cache.entriesRoot) {
      for id in try Self.names(in: cache.entriesRoot + "/" + fanOut)
      where isSHA256Hex(id) && id.hasPrefix(fanOut) {
        var directory = RecipeDirectory(id: id, path: cache.recipeDirectory(id))
        for name in try Self.names(in: directory.path) {
          guard let file = Self.file(directory.path + "/" + name) else { continue }
          totalBytes += file.size
          if name == EmbeddingCache.recipeFileName {
            (directory.recipe, directory.recipeFileProblem) = Self.readRecipe(file.path, id: id)
          } else if file.isTemporary {
            directory.temporaries.append(file)
          } else if name.hasSuffix("." + CacheEntry.fileExtension + EmbeddingCache.lockSuffix) {
            directory.locks.append(file)
          } else if name.hasSuffix("." + CacheEntry.fileExtension),
            SourceID(fileStem: file.stem) != nil
          {
            directory.entries.append(file)
          }
        }
        recipes.append(directory)
      }
    }
    let sources = root + "/" + EmbeddingCache.sourcesDirectory
    for name in try Self.names(in: sources) {
      guard let file = Self.file(sources + "/" + name) else { continue }
      totalBytes += file.size
      sourceRecords.append(file)
    }
  }

  /// Sorted names in `directory`; none when it does not exist.
  private static func names(in directory: String) throws -> [String] {
    do {
      return try FileManager.default.contentsOfDirectory(atPath: directory).sorted()
    } catch {
      if !FileManager.default.fileExists(atPath: directory) { return [] }
      throw CacheError.unusable(path: directory, reason: describe(error))
    }
  }

  /// A regular file's size and time; nil for anything else or a file removed meanwhile.
  private static func file(_ path: String) -> File? {
    var info = stat()
    guard lstat(path, &info) == 0, info.st_mode & S_IFMT == S_IFREG else { return nil }
    return File(path: path, size: Int64(info.st_size), modified: modificationNanoseconds(info))
  }

  private static func readRecipe(_ path: String, id: String) -> (FrameRecipe?, String?) {
    guard let data = FileManager.default.contents(atPath: path) else { return (nil, nil) }
    guard let recipe = try? JSONDecoder().decode(FrameRecipe.self, from: data) else {
      return (nil, "not a frame recipe")
    }
    guard recipe.id == id else { return (nil, "recipe does not hash to its directory's id") }
    return (recipe, nil)
  }
}
