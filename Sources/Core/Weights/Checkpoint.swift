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

  /// Opens `path`: a `.safetensors` file, a `model.safetensors.index.json`, or a directory holding
  /// one of `model.safetensors` or `model.safetensors.index.json`.
  public init(path: String) throws {
    var isDirectory: ObjCBool = false
    guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
      throw WeightError.unreadable(path: path, reason: "no such file or directory")
    }
    var file = path
    if isDirectory.boolValue {
      let single = (path as NSString).appendingPathComponent("model.safetensors")
      let index = (path as NSString).appendingPathComponent("model.safetensors.index.json")
      if FileManager.default.fileExists(atPath: single) {
        file = single
      } else if FileManager.default.fileExists(atPath: index) {
        file = index
      } else {
        throw WeightError.unreadable(
          path: path, reason: "no model.safetensors or model.safetensors.index.json in directory")
      }
    }
    self.path = file
    self.directory = (file as NSString).deletingLastPathComponent
    if file.hasSuffix(".json") {
      let data: Data
      do { data = try Data(contentsOf: URL(fileURLWithPath: file)) } catch {
        throw WeightError.unreadable(path: file, reason: describe(error))
      }
      guard let json = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
        let map = json["weight_map"] as? [String: String]
      else { throw WeightError.malformed(path: file, reason: "no weight_map of strings in index") }
      for shard in Set(map.values) where shard.contains("/") || shard.hasPrefix(".") {
        throw WeightError.malformed(path: file, reason: "shard name '\(shard)' is not a plain file name")
      }
      shardOf = map
    } else {
      let shard = (file as NSString).lastPathComponent
      let opened = try SafeTensorsFile(path: file)
      shardOf = Dictionary(uniqueKeysWithValues: opened.entries.keys.map { ($0, shard) })
      shards[shard] = opened
    }
  }

  /// Every tensor name in the checkpoint, sorted.
  public var names: [String] { shardOf.keys.sorted() }

  /// Whether the checkpoint holds a tensor called `name`.
  public func contains(_ name: String) -> Bool { shardOf[name] != nil }

  /// Stored shape of `name` (opens its shard).
  public func shape(of name: String) throws -> [Int] {
    let (file, entryName) = try locate(name)
    return file.entries[entryName]!.shape
  }

  /// The tensor `name`, widened to Float32.
  public func tensor(_ name: String) throws -> Tensor {
    let (file, entryName) = try locate(name)
    return try file.tensor(entryName)
  }

  private func locate(_ name: String) throws -> (SafeTensorsFile, String) {
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
    guard file.entries[name] != nil else {
      throw WeightError.malformed(
        path: file.path, reason: "index lists '\(name)' in this shard, but the shard lacks it")
    }
    return (file, name)
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
      throw WeightError.shapeMismatch(path: checkpoint.path, key: key, expected: shape, actual: actual)
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
