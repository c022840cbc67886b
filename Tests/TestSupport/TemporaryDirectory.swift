import Foundation

/// A fresh empty directory under the system temporary directory; the caller removes it.
package func makeTemporaryDirectory() throws -> URL {
  let url = FileManager.default.temporaryDirectory.appendingPathComponent("mmencode-test-\(UUID())")
  try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
  return url
}

/// Runs `body` with the path of a fresh empty directory, which is removed afterwards.
package func withTemporaryDirectory<Result>(_ body: (String) throws -> Result) throws -> Result {
  let url = try makeTemporaryDirectory()
  defer { try? FileManager.default.removeItem(at: url) }
  return try body(url.path)
}

/// A fresh empty directory under the system temporary directory, removed when this object goes.
package final class TemporaryDirectory: Sendable {
  package let path: String

  package init() throws {
    path = try makeTemporaryDirectory().path
  }

  deinit { try? FileManager.default.removeItem(atPath: path) }

  /// The path of `name` inside the directory.
  package func file(_ name: String) -> String { path + "/" + name }

  /// Names in the directory (hidden ones included), sorted.
  package func listing() throws -> [String] {
    try FileManager.default.contentsOfDirectory(atPath: path).sorted()
  }
}
