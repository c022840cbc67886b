import Foundation

/// The file layout of a command's output arrays.
public enum OutputFormat: String, Sendable, CaseIterable {
  /// One `.safetensors` file; the metadata goes in its `__metadata__`.
  case safetensors
  /// A directory of `<name>.npy` files plus `metadata.json` (a JSON object of strings).
  case npy
}

/// File name of the metadata in an ``OutputFormat/npy`` directory.
public let npyMetadataFileName = "metadata.json"
private let npyExtension = "npy"

/// Writes a command's output: `arrays` (e.g. `image_embeds` [N, P], `input_ids` [N, T] int64) and
/// `metadata` (model, model hash, version, ...) to `path` in `format`.
///
/// Nothing half-written is ever visible at `path`, and a failure leaves `path` as it was:
/// - `.safetensors`: written to a temporary sibling, fsynced and renamed over `path` (an existing
///   file is replaced atomically; a directory at `path` is refused).
/// - `.npy`: the whole directory is built in a temporary sibling, every file and the directory
///   fsynced, then renamed to `path`. A missing or empty directory at `path` is replaced
///   atomically. An existing directory is replaced only if it looks like an earlier npy output
///   (nothing but regular `*.npy` files and `metadata.json`): it is renamed aside, the new one is
///   renamed in, and the old one is deleted; between the two renames `path` is briefly absent,
///   never partial. Anything else at `path` (a file, a directory with other contents) is refused,
///   so a mistyped `-o` cannot delete unrelated data.
///
/// Array names must be unique; for `.npy` they must also be usable as file names.
public func writeOutput(
  _ arrays: [NamedArray], metadata: [String: String], to path: String, format: OutputFormat
) throws {
  switch format {
  case .safetensors:
    try writeSafeTensors(arrays, metadata: metadata, to: path)
  case .npy:
    var seen = Set<String>()
    for array in arrays {
      let name = array.name
      guard seen.insert(name).inserted, !name.isEmpty, name != ".", name != "..",
        !name.contains("/"),
        !name.contains("\0")
      else {
        throw WeightError.unwritable(
          path: path, reason: "'\(name)' is repeated or not a usable file name")
      }
    }
    let json = try JSONSerialization.data(
      withJSONObject: metadata, options: [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes])
    try writeDirectoryAtomically(path, replacing: isNPYOutputDirectory) { directory in
      for array in arrays {
        try NPY.write(
          array,
          to: URL(fileURLWithPath: directory).appendingPathComponent(
            "\(array.name).\(npyExtension)"
          ).path)
      }
      try writeAtomically(json + Data("\n".utf8), to: directory + "/" + npyMetadataFileName)
    }
  }
}

/// The arrays and metadata of an ``OutputFormat/npy`` directory, arrays sorted by name (for tests
/// and tools that read outputs back).
public func readNPYOutput(_ path: String) throws -> (
  arrays: [NamedArray], metadata: [String: String]
) {
  let metadataPath = path + "/" + npyMetadataFileName
  let json = try MappedFile.map(metadataPath)
  guard let metadata = (try? JSONSerialization.jsonObject(with: json)) as? [String: String] else {
    throw WeightError.malformed(path: metadataPath, reason: "not a JSON object of strings")
  }
  let names: [String]
  do { names = try FileManager.default.contentsOfDirectory(atPath: path) } catch {
    throw WeightError.unreadable(path: path, reason: describe(error))
  }
  let arrays = try names.filter { $0.hasSuffix("." + npyExtension) }.sorted().map {
    try NPY.read(path + "/" + $0)
  }
  return (arrays, metadata)
}

/// Whether `path` holds nothing but regular `*.npy` files and `metadata.json`, as
/// ``writeOutput(_:metadata:to:format:)`` writes them.
private func isNPYOutputDirectory(_ path: String) -> Bool {
  guard let names = try? FileManager.default.contentsOfDirectory(atPath: path) else { return false }
  return names.allSatisfy { name in
    var info = stat()
    return lstat(path + "/" + name, &info) == 0 && (info.st_mode & S_IFMT) == S_IFREG
      && (name == npyMetadataFileName || name.hasSuffix("." + npyExtension))
  }
}

/// Creates the directory `path` with the contents `fill` writes into the directory it is given,
/// so that `path` never holds a partial result (see ``writeOutput(_:metadata:to:format:)``).
///
/// - Parameter replacing: decides whether an existing non-empty directory at `path` may be replaced.
package func writeDirectoryAtomically(
  _ path: String, replacing mayReplace: (String) -> Bool, fill: (String) throws -> Void
) throws {
  let existing = try existingDirectory(path, mayReplace: mayReplace)
  let staging = temporarySibling(of: path, suffix: "tmp")
  guard mkdir(staging, 0o755) == 0 else {
    throw WeightError.unwritable(path: path, reason: "cannot create \(staging): \(errnoText())")
  }
  var placed = false
  defer { if !placed { try? FileManager.default.removeItem(atPath: staging) } }
  try fill(staging)
  syncDirectory(staging)

  if existing == .nonEmpty {
    // rename(2) cannot replace a non-empty directory: move the old one aside first.
    let old = temporarySibling(of: path, suffix: "old")
    guard rename(path, old) == 0 else {
      throw WeightError.unwritable(
        path: path, reason: "cannot move the old output aside: \(errnoText())")
    }
    guard rename(staging, path) == 0 else {
      let reason = errnoText()
      rename(old, path)
      throw WeightError.unwritable(path: path, reason: "cannot rename into place: \(reason)")
    }
    placed = true
    try? FileManager.default.removeItem(atPath: old)
  } else {
    guard rename(staging, path) == 0 else {
      throw WeightError.unwritable(path: path, reason: "cannot rename into place: \(errnoText())")
    }
    placed = true
  }
  syncDirectory(containing: path)
}

private enum ExistingDirectory { case none, empty, nonEmpty }

private func existingDirectory(_ path: String, mayReplace: (String) -> Bool) throws
  -> ExistingDirectory
{
  var info = stat()
  guard lstat(path, &info) == 0 else { return .none }
  guard (info.st_mode & S_IFMT) == S_IFDIR else {
    throw WeightError.unwritable(
      path: path, reason: "exists and is not a directory; refusing to replace it")
  }
  let names = (try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []
  if names.isEmpty { return .empty }
  guard mayReplace(path) else {
    throw WeightError.unwritable(
      path: path,
      reason: "exists and holds files other than an earlier output; refusing to replace it")
  }
  return .nonEmpty
}
