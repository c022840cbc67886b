import Foundation

/// The tensors of a model checkpoint: one `.safetensors` file, or a sharded set described by a
/// `model.safetensors.index.json` (its `weight_map` names the shard of each tensor).
///
/// Shards are opened (memory-mapped and their headers validated) only when a tensor in them is
/// first asked for, so reading one tower of a multi-gigabyte checkpoint touches only its shards.
public final class Checkpoint: @unchecked Sendable {
  /// The file or index that was opened.
  public let path: String
  /// Shard file name for each tensor name.
  private let shardOf: [String: String]
  private let directory: String
  private var shards: [String: SafeTensorsFile] = [:]
  private let lock = NSLock()

  /// File name of a single-file checkpoint inside a model directory.
  public static let singleFileName = "model.safetensors"
  /// File name of a sharded checkpoint's index inside a model directory.
  public static let indexFileName = "model.safetensors.index.json"

  /// Opens `path`: a `.safetensors` file, a `model.safetensors.index.json`, or a directory holding
  /// one of them (`model.safetensors` wins when both exist, as in `transformers`).
  ///
  /// A single file is validated at once; for an index, only the index is read here and each
  /// shard is opened and validated when a tensor in it is first asked for.
  public init(path: String) throws {
    var file = path
    if isDirectory(path) {
      let single = (path as NSString).appendingPathComponent(Self.singleFileName)
      let index = (path as NSString).appendingPathComponent(Self.indexFileName)
      if FileManager.default.fileExists(atPath: single) {
        file = single
      } else if FileManager.default.fileExists(atPath: index) {
        file = index
      } else {
        throw WeightError.unreadable(
          path: path, reason: "no \(Self.singleFileName) or \(Self.indexFileName) in directory")
      }
    }
    self.path = file
    self.directory = (file as NSString).deletingLastPathComponent
    if file.hasSuffix(".json") {
      shardOf = try Self.readIndex(file)
    } else {
      let shard = (file as NSString).lastPathComponent
      let opened = try SafeTensorsFile(path: file)
      shardOf = Dictionary(uniqueKeysWithValues: opened.entries.keys.map { ($0, shard) })
      shards[shard] = opened
    }
  }

  /// The `weight_map` of a Hugging Face index: `{"metadata": {...}, "weight_map": {tensor: shard}}`.
  private static func readIndex(_ file: String) throws -> [String: String] {
    func malformed(_ reason: String) -> WeightError { .malformed(path: file, reason: reason) }
    let data = try MappedFile.map(file)
    guard let json = try? JSONSerialization.jsonObject(with: data) else {
      throw malformed("index is not valid JSON")
    }
    guard let map = (json as? [String: Any])?["weight_map"] as? [String: Any] else {
      throw malformed("index has no weight_map object")
    }
    var shardOf: [String: String] = [:]
    for (tensor, value) in map {
      guard let shard = value as? String else {
        throw malformed("weight_map entry '\(tensor)' is not a file name")
      }
      // Shards must sit beside the index: a path could reach files outside the model.
      guard !shard.isEmpty, !shard.contains("/"), shard != ".", shard != ".." else {
        throw malformed("shard '\(shard)' of '\(tensor)' is not a plain file name")
      }
      shardOf[tensor] = shard
    }
    if shardOf.isEmpty { throw malformed("weight_map lists no tensors") }
    return shardOf
  }

  /// Every tensor name in the checkpoint, sorted.
  public var names: [String] { shardOf.keys.sorted() }

  /// The files the checkpoint consists of: the single file, or the index followed by its shards
  /// in sorted order. (For hashing; listing them opens nothing.)
  public var files: [String] {
    let shardFiles = Set(shardOf.values).sorted().map {
      (directory as NSString).appendingPathComponent($0)
    }
    return path.hasSuffix(".json") ? [path] + shardFiles : shardFiles
  }

  /// Whether the checkpoint holds a tensor called `name`.
  public func contains(_ name: String) -> Bool { shardOf[name] != nil }

  /// Stored shape of `name` (opens its shard).
  public func shape(of name: String) throws -> [Int] {
    try locate(name).entry.shape
  }

  /// The tensor `name`, widened to Float32 (F32, F16 and BF16 are accepted).
  public func tensor(_ name: String) throws -> Tensor {
    try locate(name).file.tensor(name)
  }

  /// The shard holding `name`, opened and validated on first use, and `name`'s entry in it.
  private func locate(_ name: String) throws -> (
    file: SafeTensorsFile, entry: SafeTensorsFile.Entry
  ) {
    guard let shard = shardOf[name] else { throw WeightError.missingTensor(path: path, key: name) }
    lock.lock()
    defer { lock.unlock() }
    let file: SafeTensorsFile
    if let open = shards[shard] {
      file = open
    } else {
      file = try SafeTensorsFile(path: (directory as NSString).appendingPathComponent(shard))
      shards[shard] = file
    }
    guard let entry = file.entries[name] else {
      throw WeightError.malformed(
        path: file.path,
        reason: "index \(path) places tensor '\(name)' in this shard, but it is not there")
    }
    return (file, entry)
  }
}

/// Strict, scoped reading of one model's weights from a ``Checkpoint``.
///
/// A model asks for each tensor by its checkpoint name and the shape it needs; a missing tensor or
/// a wrong shape throws at once, naming the key and both shapes. Sub-modules get a reader scoped
/// to their key prefix (``scoped(_:)``), so module code writes the names that appear in the
/// checkpoint. ``verifyAllUsed(except:)`` then fails on any tensor under the root prefix that
/// nobody asked for.
public final class WeightReader: @unchecked Sendable {
  public let checkpoint: Checkpoint
  /// Key prefix of this scope, ending in "." unless empty.
  public let prefix: String
  private let used: UsedKeys

  private final class UsedKeys: @unchecked Sendable {
    let lock = NSLock()
    var keys: Set<String> = []
    func insert(_ key: String) {
      lock.lock()
      keys.insert(key)
      lock.unlock()
    }
  }

  /// A reader over `checkpoint` whose names are relative to `prefix` (e.g. "model.encoder").
  public convenience init(_ checkpoint: Checkpoint, prefix: String = "") {
    self.init(checkpoint, prefix: prefix, used: UsedKeys())
  }

  private init(_ checkpoint: Checkpoint, prefix: String, used: UsedKeys) {
    self.checkpoint = checkpoint
    self.prefix = prefix.isEmpty || prefix.hasSuffix(".") ? prefix : prefix + "."
    self.used = used
  }

  /// A reader for the sub-module `component` (names are joined with ".").
  public func scoped(_ component: String) -> WeightReader {
    WeightReader(checkpoint, prefix: prefix + component, used: used)
  }

  /// The tensor `name` under this scope, which must have exactly `shape`.
  public func callAsFunction(_ name: String, shape: [Int]) throws -> Tensor {
    let key = prefix + name
    let actual = try checkpoint.shape(of: key)
    guard actual == shape else {
      throw WeightError.shapeMismatch(
        path: checkpoint.path, key: key, expected: shape, actual: actual)
    }
    used.insert(key)
    return try checkpoint.tensor(key)
  }

  /// Whether the checkpoint has `name` under this scope (for optional tensors such as biases).
  public func contains(_ name: String) -> Bool { checkpoint.contains(prefix + name) }

  /// Throws ``WeightError/unusedTensors(path:keys:)`` if a tensor under this reader's prefix was
  /// never read, other than those whose full name starts with one of `exemptPrefixes`.
  public func verifyAllUsed(except exemptPrefixes: [String] = []) throws {
    used.lock.lock()
    let usedKeys = used.keys
    used.lock.unlock()
    let unused = checkpoint.names.filter { key in
      key.hasPrefix(prefix) && !usedKeys.contains(key)
        && !exemptPrefixes.contains(where: { key.hasPrefix($0) })
    }
    if !unused.isEmpty { throw WeightError.unusedTensors(path: checkpoint.path, keys: unused) }
  }
}
