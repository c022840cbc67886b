import Foundation

/// The repository checkout the tests were built from, so tests can read the committed fixtures
/// without depending on the working directory `swift test` runs in.
package enum Repository {
  /// The nearest directory above this source file that holds `Package.swift`.
  package static let root: URL = {
    var directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    while !FileManager.default.fileExists(atPath: directory.appendingPathComponent("Package.swift").path) {
      precondition(directory.path != "/", "no Package.swift above \(#filePath)")
      directory.deleteLastPathComponent()
    }
    return directory
  }()

  /// `fixtures/`, where the generator scripts write checkpoints, media and reference outputs.
  package static let fixtures = root.appendingPathComponent("fixtures")

  /// The absolute path of `fixtures/<relative>`.
  package static func fixture(_ relative: String) -> String {
    fixtures.appendingPathComponent(relative).path
  }
}
