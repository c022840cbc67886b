import Core
import Foundation

/// The persistent, content-addressed store of per-frame embeddings: one safetensors file per
/// (recipe, source), shared safely by any number of processes.
///
/// Layout under ``root``:
/// - `v1/<id[0..<2]>/<id>/recipe.json`: the recipe of id `<id>` (``FrameRecipe/id``), as JSON;
/// - `v1/<id[0..<2]>/<id>/<sha256>-<stream>.safetensors`: an entry (``CacheEntry``), with
///   `<...>.safetensors.lock` beside it for writers;
/// - `sources/<key hash>`: remembered file hashes (``SourceHasher``).
///
/// Readers take no lock: entries only ever change by atomic rename, and every read verifies the
/// whole entry, so a damaged or foreign file is a miss with a warning, never wrong data. Writers
/// serialize per entry on an exclusive `flock`, which the kernel releases if the writer dies.
/// Reading an entry touches its modification time, which `cache gc` uses as the last use.
/// Nothing is held in memory between calls, so other processes always see the same state.
public struct EmbeddingCache: EmbeddingStore {
  /// The cache directory.
  public let root: String

  /// Environment variable naming the cache directory.
  public static let environmentVariable = "MMENCODE_CACHE"
  /// Sub-directory for entries; the number changes with an incompatible layout.
  package static let entriesDirectory = "v1"
  /// Sub-directory for remembered source hashes.
  package static let sourcesDirectory = "sources"
  /// The recipe description kept in each recipe directory.
  package static let recipeFileName = "recipe.json"
  /// Appended to an entry's path to name its writer lock.
  package static let lockSuffix = ".lock"
  /// Hex digits of the recipe id that name the fan-out directory above each recipe directory.
  static let fanOutLength = 2

  public init(root: String) {
    self.root = root
  }

  /// The cache directory to use: `option` (`--cache DIR`), else `$MMENCODE_CACHE`, else
  /// `$XDG_CACHE_HOME/mmencode`, else `$HOME/.cache/mmencode`. Empty values count as unset, and
  /// a relative `XDG_CACHE_HOME` is ignored, as the XDG base directory specification says.
  public static func resolveRoot(
    option: String?, environment: [String: String] = ProcessInfo.processInfo.environment
  ) -> String {
    if let option, !option.isEmpty { return option }
    if let path = environment[environmentVariable], !path.isEmpty { return path }
    if let xdg = environment["XDG_CACHE_HOME"], xdg.hasPrefix("/") { return xdg + "/mmencode" }
    let home =
      environment["HOME"].flatMap { $0.isEmpty ? nil : $0 }
      ?? FileManager.default.homeDirectoryForCurrentUser.path
    return home + "/.cache/mmencode"
  }

  /// Source identities, remembered under this cache.
  public var sources: SourceHasher {
    SourceHasher(directory: root + "/" + Self.sourcesDirectory)
  }

  /// The identity of stream `streamIndex` of the file at `path` (see ``SourceHasher``).
  public func sourceID(path: String, streamIndex: Int) throws -> SourceID {
    try sources.sourceID(path: path, streamIndex: streamIndex)
  }

  /// `root/v1`.
  package var entriesRoot: String { root + "/" + Self.entriesDirectory }

  /// The directory of the recipe with id `recipeID`.
  package func recipeDirectory(_ recipeID: String) -> String {
    "\(entriesRoot)/\(recipeID.prefix(Self.fanOutLength))/\(recipeID)"
  }

  /// The entry file of `source` under the recipe with id `recipeID`.
  public func entryPath(recipeID: String, source: SourceID) -> String {
    "\(recipeDirectory(recipeID))/\(source.fileStem).\(CacheEntry.fileExtension)"
  }

  // MARK: EmbeddingStore

  /// Verifies the whole entry (structure, ids, recipe, shapes, PTS order, checksum of all its
  /// data) before returning any of it, then marks it as used. A missing entry is a plain miss;
  /// any other failure is a miss with one warning naming the entry and the reason.
  public func frames(source: SourceID, recipe: FrameRecipe, pts: Set<Int64>) -> (
    FrameEmbeddings?, [CacheWarning]
  ) {
    if pts.isEmpty { return (nil, []) }
    let recipeID = recipe.id
    let path = entryPath(recipeID: recipeID, source: source)
    switch VerifiedEntry.open(path, recipeID: recipeID, source: source, recipe: recipe) {
    case .failure(.missing):
      return (nil, [])
    case .failure(.damaged(let reason)):
      return (nil, [CacheWarning(path: path, reason: reason)])
    case .success(let entry):
      markUsed(path)
      let rows = entry.pts.indices.filter { pts.contains(entry.pts[$0]) }
      return (rows.isEmpty ? nil : entry.frames(rows: rows), [])
    }
  }

  /// Blocks until no other writer (thread or process) holds the entry, then re-reads it, runs
  /// `compute`, and writes the union if it adds frames. A damaged entry is reported as a
  /// warning, `compute` sees no stored frames, and the new frames replace it.
  ///
  /// Throws ``CacheError/unusable(path:reason:)`` when the entry's directory, lock or file cannot
  /// be created or written, ``CacheError/inconsistentFrames(path:reason:)`` when the new frames
  /// do not fit the entry or the recipe, and whatever `compute` throws; in every case the entry
  /// is left as it was. `compute` must not update the same entry (it would wait for itself).
  public func update(
    source: SourceID, recipe: FrameRecipe,
    _ compute: (FrameEmbeddings?) throws -> FrameEmbeddings
  ) throws -> (FrameEmbeddings, [CacheWarning]) {
    let recipeID = recipe.id
    let directory = recipeDirectory(recipeID)
    do {
      try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    } catch {
      throw CacheError.unusable(path: directory, reason: describe(error))
    }
    let path = entryPath(recipeID: recipeID, source: source)
    let lock = try EntryLock.acquire(path + Self.lockSuffix)
    defer { withExtendedLifetime(lock) {} }

    var warnings: [CacheWarning] = []
    var stored: FrameEmbeddings?
    switch VerifiedEntry.open(path, recipeID: recipeID, source: source, recipe: recipe) {
    case .success(let entry): stored = entry.allFrames()
    case .failure(.missing): break
    case .failure(.damaged(let reason)): warnings.append(CacheWarning(path: path, reason: reason))
    }
    let added = try compute(stored)
    let merged = try merge(stored, added, recipe: recipe, path: path)
    if merged.count > stored?.count ?? 0 {
      do {
        try CacheEntry.write(merged, recipe: recipe, recipeID: recipeID, source: source, to: path)
      } catch {
        throw CacheError.unusable(path: path, reason: describeWriteError(error))
      }
      try writeRecipeFile(recipe, in: directory)
    }
    return (merged, warnings)
  }

  /// Marks the entry as just used (its modification time), for least-recently-used eviction. A
  /// read-only cache simply keeps its old times.
  private func markUsed(_ path: String) {
    utimes(path, nil)
  }

  /// Writes `recipe.json` unless it already holds this recipe.
  private func writeRecipeFile(_ recipe: FrameRecipe, in directory: String) throws {
    let path = directory + "/" + Self.recipeFileName
    let json = try recipe.json()
    if FileManager.default.contents(atPath: path) == json { return }
    do {
      try writeAtomically(json, to: path)
    } catch {
      throw CacheError.unusable(path: path, reason: describeWriteError(error))
    }
  }
}

/// The reason of a write failure without the path (the cache error names it).
private func describeWriteError(_ error: Error) -> String {
  if case WeightError.unwritable(_, let reason) = error { return reason }
  return error.localizedDescription
}

/// `stored` and `added` as one set of frames sorted by PTS; a PTS present in both keeps the
/// stored frame (encoding is deterministic, so both are the same embedding).
///
/// Throws ``CacheError/inconsistentFrames(path:reason:)`` when `added` repeats a PTS, has
/// another embedding width or token shape than `stored`, or has tokens where the recipe has
/// none (or the reverse).
private func merge(
  _ stored: FrameEmbeddings?, _ added: FrameEmbeddings, recipe: FrameRecipe, path: String
) throws -> FrameEmbeddings {
  func inconsistent(_ reason: String) -> CacheError {
    .inconsistentFrames(path: path, reason: reason)
  }
  let wantsTokens = recipe.output == .embeddingsAndTokens
  if (added.tokens != nil) != wantsTokens {
    throw inconsistent(
      wantsTokens ? "the recipe stores tokens but none were given" : "the recipe stores no tokens")
  }
  if let stored {
    if added.embeddings.shape[1] != stored.embeddings.shape[1] {
      throw inconsistent(
        "embedding width \(added.embeddings.shape[1]), the entry holds \(stored.embeddings.shape[1])"
      )
    }
    if let tokens = added.tokens, let storedTokens = stored.tokens,
      tokens.shape.dropFirst() != storedTokens.shape.dropFirst()
    {
      throw inconsistent(
        "tokens per frame \(Array(tokens.shape.dropFirst())), the entry holds \(Array(storedTokens.shape.dropFirst()))"
      )
    }
  }
  let order = added.pts.indices.sorted { added.pts[$0] < added.pts[$1] }
  for (a, b) in zip(order, order.dropFirst()) where added.pts[a] == added.pts[b] {
    throw inconsistent("PTS \(added.pts[a]) given twice")
  }

  // (from stored, row) in PTS order.
  var picks: [(Bool, Int)] = []
  let storedPTS = stored?.pts ?? []
  var s = 0
  for row in order {
    let value = added.pts[row]
    while s < storedPTS.count && storedPTS[s] < value {
      picks.append((true, s))
      s += 1
    }
    if s < storedPTS.count && storedPTS[s] == value { continue }
    picks.append((false, row))
  }
  while s < storedPTS.count {
    picks.append((true, s))
    s += 1
  }
  return gather(picks, stored: stored, added: added)
}

/// The frames named by `picks` (`true` for a row of `stored`, `false` for one of `added`).
private func gather(_ picks: [(Bool, Int)], stored: FrameEmbeddings?, added: FrameEmbeddings)
  -> FrameEmbeddings
{
  func from(_ fromStored: Bool) -> FrameEmbeddings { fromStored ? stored! : added }
  func rows(_ tensor: (FrameEmbeddings) -> Tensor?) -> Tensor? {
    guard let template = tensor(added) else { return nil }
    let rowSize = template.rowSize
    var scalars: [Float] = []
    scalars.reserveCapacity(picks.count * rowSize)
    for (fromStored, row) in picks {
      scalars.append(
        contentsOf: tensor(from(fromStored))!.scalars[(row * rowSize)..<((row + 1) * rowSize)])
    }
    return Tensor(shape: [picks.count] + template.shape.dropFirst(), scalars: scalars)
  }
  return FrameEmbeddings(
    pts: picks.map { from($0.0).pts[$0.1] },
    timestamps: picks.map { from($0.0).timestamps[$0.1] },
    frameIndex: picks.map { from($0.0).frameIndex[$0.1] },
    embeddings: rows { $0.embeddings }!,
    tokens: rows { $0.tokens })
}
