import CLIP
import Core
import Foundation
import Media
import Synchronization
import Video

/// FFmpeg 5.1's library versions, fixed so recipe ids in tests do not depend on the machine.
let fixedDecoderVersions = [
  "libavcodec": "59.37.100", "libavformat": "59.27.100", "libavutil": "57.28.100",
  "libswresample": "4.7.100", "libswscale": "6.7.100",
]

/// A recipe with CLIPImageProcessor's default preprocessing and a made-up model hash.
func makeRecipe(
  output: FrameRecipe.Output = .embeddings,
  modelSHA256: String = String(repeating: "5e", count: 32)
) -> FrameRecipe {
  FrameRecipe(
    decoder: fixedDecoderVersions, color: ColorSettings(),
    preprocessing: PreprocessingRecipe(PreprocessorConfig()), modelSHA256: modelSHA256,
    output: output)
}

/// A source id whose hash is `n` repeated.
func makeSource(_ n: Int, stream: Int = 0) -> SourceID {
  SourceID(sha256: String(repeating: String(format: "%02x", n), count: 32), streamIndex: stream)
}

/// Embedding width of test frames.
let testWidth = 8
/// `[N, W]` tokens per test frame.
let testTokenShape = [3, 4]

/// Frames at `pts` (time base 1/1000, 25 fps) whose values are a function of the PTS, so any
/// mix-up between frames shows in the values.
func makeFrames(_ pts: [Int64], tokens: Bool = false) -> FrameEmbeddings {
  let tokenCount = testTokenShape.reduce(1, *)
  return FrameEmbeddings(
    pts: pts, timestamps: pts.map { Double($0) / 1000 }, frameIndex: pts.map { $0 / 40 },
    embeddings: Tensor(
      shape: [pts.count, testWidth],
      scalars: pts.flatMap { p in (0..<testWidth).map { Float(p) + Float($0) / 16 } }),
    tokens: tokens
      ? Tensor(
        shape: [pts.count] + testTokenShape,
        scalars: pts.flatMap { p in (0..<tokenCount).map { -Float(p) - Float($0) / 64 } })
      : nil)
}

/// Stores `pts` for `source` under `recipe`, computing every one of them.
@discardableResult
func store(
  _ pts: [Int64], in cache: EmbeddingCache, source: SourceID, recipe: FrameRecipe
) throws -> FrameEmbeddings {
  try cache.update(source: source, recipe: recipe) { _ in
    makeFrames(pts, tokens: recipe.output == .embeddingsAndTokens)
  }.0
}

/// Sets the modification time of `path`.
func setModificationTime(_ path: String, _ time: Date) throws {
  try FileManager.default.setAttributes([.modificationDate: time], ofItemAtPath: path)
}

/// Sets the modification time of `path` to `seconds` before now.
func setModificationTime(_ path: String, secondsAgo seconds: Double) throws {
  try setModificationTime(path, Date(timeIntervalSinceNow: -seconds))
}

func fileSize(_ path: String) throws -> Int64 {
  (try FileManager.default.attributesOfItem(atPath: path)[.size] as? NSNumber)?.int64Value ?? -1
}

/// A thread-safe tally, for counting work done by several threads.
final class Tally<Key: Hashable & Sendable>: Sendable {
  private let counts = Mutex<[Key: Int]>([:])

  func add(_ key: Key) { counts.withLock { $0[key, default: 0] += 1 } }
  var snapshot: [Key: Int] { counts.withLock { $0 } }
  var total: Int { snapshot.values.reduce(0, +) }
}
