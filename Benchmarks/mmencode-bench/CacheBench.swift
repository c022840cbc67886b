import CLIP
import Core
import Foundation
import Media
import Video

/// `mmencode-bench cache [--dir DIR] [--frames K] [--width P] [--entries E] [--hash-mb M]`
///
/// In a fresh cache under DIR (default: the temporary directory):
/// - one entry of K frames (default 3600) x P (default 512): write, read every frame (full
///   verification plus copy), verify, and add one frame (re-read, merge, rewrite), best of 5;
/// - SHA-256 of an M MB file (default 1024; just written, so mostly from the page cache: this
///   measures the hashing, not the disk), and the remembered lookup afterwards;
/// - E small entries (default 1000; 8 frames each): stats, verify, a gc that has nothing to do,
///   and a gc that evicts half of them.
enum CacheBench {
  static func run(_ arguments: [String]) throws {
    func option(_ name: String, _ fallback: String) -> String {
      guard let i = arguments.firstIndex(of: name), i + 1 < arguments.count else { return fallback }
      return arguments[i + 1]
    }
    let frameCount = Int(option("--frames", "3600"))!
    let width = Int(option("--width", "512"))!
    let entryCount = Int(option("--entries", "1000"))!
    let hashMegabytes = Int(option("--hash-mb", "1024"))!
    let parent = option("--dir", FileManager.default.temporaryDirectory.path)
    let root = parent + "/mmencode-cache-bench-\(UUID())"
    defer { try? FileManager.default.removeItem(atPath: root) }
    let cache = EmbeddingCache(root: root)
    let recipe = FrameRecipe(
      color: ColorSettings(), preprocessing: PreprocessingRecipe(PreprocessorConfig()),
      modelSHA256: String(repeating: "ab", count: 32), output: .embeddings)

    // One long entry.
    let source = SourceID(sha256: String(repeating: "cd", count: 32), streamIndex: 0)
    let frames = syntheticFrames((0..<frameCount).map { Int64($0) * 1000 }, width: width)
    let path = cache.entryPath(recipeID: recipe.id, source: source)
    let write = try best(of: 5) {
      try? FileManager.default.removeItem(atPath: path)
      _ = try cache.update(source: source, recipe: recipe) { _ in frames }
    }
    let bytes = try FileManager.default.attributesOfItem(atPath: path)[.size] as! Int
    print("entry \(frameCount) x \(width) (\(bytes) bytes): write \(write.text)")
    let everyPTS = Set(frames.pts)
    let read = try best(of: 5) {
      precondition(
        cache.frames(source: source, recipe: recipe, pts: everyPTS).0?.count == frameCount)
    }
    print("  read all frames (verify + copy): \(read.text)")
    let verify = try best(of: 5) {
      let verified = try cache.verify(deleteDamaged: false).verified
      precondition(verified == 1)
    }
    print("  cache verify: \(verify.text)")
    var next = Int64(frameCount) * 1000
    let grow = try best(of: 5) {
      next += 1000
      _ = try cache.update(source: source, recipe: recipe) { _ in
        syntheticFrames([next], width: width)
      }
    }
    print("  add one frame (lock, read, merge, rewrite): \(grow.text)")

    // Hashing a large file.
    let big = root + "/big.bin"
    let chunk = Data((0..<(1 << 20)).map { UInt8(truncatingIfNeeded: $0 &* 2_654_435_761 >> 7) })
    precondition(FileManager.default.createFile(atPath: big, contents: nil))
    let handle = FileHandle(forWritingAtPath: big)!
    for _ in 0..<hashMegabytes { handle.write(chunk) }
    try handle.close()
    let hash = try best(of: 3) { _ = try sha256(file: big) }
    print(
      "sha256 of \(hashMegabytes) MiB: \(hash.text), "
        + String(format: "%.0f MiB/s", Double(hashMegabytes) / hash.wall))
    try FileManager.default.setAttributes(
      [.modificationDate: Date(timeIntervalSinceNow: -3600)], ofItemAtPath: big)
    _ = try cache.sourceID(path: big, streamIndex: 0)
    let remembered = try best(of: 5) { _ = try cache.sourceID(path: big, streamIndex: 0) }
    print("  remembered source id afterwards: \(remembered.text)")
    try FileManager.default.removeItem(atPath: big)

    // Many entries.
    try FileManager.default.removeItem(atPath: root)
    for n in 0..<entryCount {
      let source = SourceID(sha256: String(format: "%064x", n), streamIndex: 0)
      _ = try cache.update(source: source, recipe: recipe) { _ in
        syntheticFrames((0..<8).map { Int64($0) }, width: width)
      }
      // Distinct last-use times, oldest first.
      try FileManager.default.setAttributes(
        [.modificationDate: Date(timeIntervalSinceNow: Double(n - entryCount))],
        ofItemAtPath: cache.entryPath(recipeID: recipe.id, source: source))
    }
    let stats = try cache.stats()
    let statsTime = try best(of: 3) { _ = try cache.stats() }
    print("\(entryCount) entries (\(stats.totalBytes) bytes): stats \(statsTime.text)")
    let verifyAll = try best(of: 3) {
      let verified = try cache.verify(deleteDamaged: false).verified
      precondition(verified == entryCount)
    }
    print("  verify: \(verifyAll.text)")
    let idle = try best(of: 3) { _ = try cache.collectGarbage(maxSize: Int64.max) }
    print("  gc with nothing to remove: \(idle.text)")
    var report: CacheCollection?
    let evict = try best(of: 1) { report = try cache.collectGarbage(maxSize: stats.totalBytes / 2) }
    print("  gc to half the size: removed \(report!.removedEntries) entries, \(evict.text)")
  }

  /// Frames with arbitrary but fixed values.
  private static func syntheticFrames(_ pts: [Int64], width: Int) -> FrameEmbeddings {
    FrameEmbeddings(
      pts: pts, timestamps: pts.map { Double($0) / 1000 }, frameIndex: pts.map { $0 / 1000 },
      embeddings: Tensor(
        shape: [pts.count, width],
        scalars: (0..<(pts.count * width)).map { Float($0 % 997) / 997 }),
      tokens: nil)
  }

  private static func best(of runs: Int, _ body: () throws -> Void) throws -> Timing {
    var timings: [Timing] = []
    for _ in 0..<runs {
      let start = ContinuousClock.now
      try body()
      let d = ContinuousClock.now - start
      timings.append(
        Timing(wall: Double(d.components.seconds) + Double(d.components.attoseconds) * 1e-18))
    }
    return timings.min { $0.wall < $1.wall }!
  }

  struct Timing {
    var wall: Double
    var text: String { String(format: "%.1f ms", wall * 1000) }
  }
}
