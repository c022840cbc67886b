import Foundation
import TestSupport
import Testing

// `mmencode video --dry-run`: the counts it predicts are the counts the real run then reports, and
// it writes no output and no cache entry.

private let model = Repository.fixture("models/clip-tiny-a")
/// 3 s at 25 fps (fixtures/make_media.sh).
private let sample = Repository.fixture("media/sample.mp4")

@Test func aDryRunPredictsWhatTheRunTakesFromTheCacheAndWritesNothing() throws {
  try withTemporaryDirectory { directory in
    let cache = directory + "/cache"
    let out = directory + "/sample.safetensors"
    func video(_ extra: [String]) throws -> CLI.Result {
      let result = try CLI.run(["video", sample, "-m", model, "--cache", cache, "-o", out, "--progress", "none"] + extra)
      #expect(result.status == 0, "stderr: \(result.stderr)")
      return result
    }
    #expect(try video(["--fps", "1", "--dry-run"]).stdout.contains("3 frames (0 in cache, 3 to encode)"))
    #expect(!FileManager.default.fileExists(atPath: out))
    #expect(try entries(in: cache).isEmpty)

    #expect(try video(["--fps", "1"]).stdout.contains("3 frames (3 encoded, 0 from cache"))
    let stored = try entries(in: cache)
    #expect(stored.count == 1)
    try FileManager.default.removeItem(atPath: out)

    // Twice the budget: the three frames already stored come from the cache.
    #expect(try video(["--fps", "2", "--dry-run"]).stdout.contains("6 frames (3 in cache, 3 to encode)"))
    #expect(!FileManager.default.fileExists(atPath: out))
    #expect(try entries(in: cache) == stored)
    #expect(try video(["--fps", "2"]).stdout.contains("6 frames (3 encoded, 3 from cache"))
  }
}

/// Cache entries under `cache` with their sizes (lock files and remembered hashes left out).
private func entries(in cache: String) throws -> [String: Int] {
  guard let walker = FileManager.default.enumerator(atPath: cache) else { return [:] }
  var found: [String: Int] = [:]
  while let relative = walker.nextObject() as? String {
    guard relative.hasSuffix(".safetensors") else { continue }
    found[relative] = try FileManager.default.attributesOfItem(atPath: cache + "/" + relative)[.size] as? Int
  }
  return found
}
