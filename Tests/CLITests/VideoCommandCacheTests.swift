import Core
import Foundation
import TestSupport
import Testing

// `mmencode video` over the on-disk cache: later runs reuse frames; writers killed at any moment
// leave no damaged entry (`mmencode cache verify` checks every entry completely); four processes
// on the same inputs encode each frame once in total (from their JSON progress counts).

private let model = Repository.fixture("models/clip-tiny-a")

/// A numbered-pattern video longer than the fixtures (`seconds` at 25 fps, 96x64), so entries
/// with tokens take a while to write.
private func longerVideo(in directory: URL, seconds: Int, name: String = "long.mp4") throws -> String {
  let path = directory.appendingPathComponent(name).path
  let ffmpeg = Process()
  ffmpeg.executableURL = URL(fileURLWithPath: "/usr/bin/ffmpeg")
  ffmpeg.arguments = [
    "-nostdin", "-v", "error", "-y", "-f", "lavfi", "-i", "testsrc2=s=96x64:r=25:d=\(seconds)", "-c:v", "libx264",
    "-preset", "veryfast", "-pix_fmt", "yuv420p", path,
  ]
  try ffmpeg.run()
  ffmpeg.waitUntilExit()
  #expect(ffmpeg.terminationStatus == 0)
  return path
}

/// Starts `mmencode arguments...` without waiting; its output is discarded or captured.
private func launch(_ arguments: [String], stderr: URL? = nil) throws -> Process {
  let process = Process()
  process.executableURL = CLI.executable
  process.arguments = arguments
  process.standardOutput = FileHandle.nullDevice
  if let stderr {
    _ = FileManager.default.createFile(atPath: stderr.path, contents: nil)
    process.standardError = try FileHandle(forWritingTo: stderr)
  } else {
    process.standardError = FileHandle.nullDevice
  }
  try process.run()
  return process
}

/// Writers' temporary files under `cache` right now (killed writers leave theirs behind).
private func temporaryFiles(under cache: URL) -> Set<String> {
  guard let files = FileManager.default.enumerator(atPath: cache.path) else { return [] }
  return Set(files.compactMap { $0 as? String }.filter { $0.hasSuffix(".tmp") })
}

private func verify(_ cache: URL) throws -> CLI.Result {
  try CLI.run(["cache", "verify", "--cache", cache.path])
}

/// The `done` objects of `--progress json` output.
private func doneEvents(_ stderr: String) -> [[String: Any]] {
  stderr.split(separator: "\n").compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
    .filter { $0["event"] as? String == "done" }
}

@Test func laterRunsTakeFramesFromTheCache() throws {
  let directory = try makeTemporaryDirectory()
  defer { try? FileManager.default.removeItem(at: directory) }
  let cache = directory.appendingPathComponent("cache").path
  let video = Repository.fixture("media/sample.mp4")
  func run(fps: Int, _ name: String) throws -> (counts: [String: Any], file: SafeTensorsFile) {
    let out = directory.appendingPathComponent(name).path
    let result = try CLI.run([video, "-m", model, "--fps", String(fps), "--cache", cache, "--progress", "json", "-o", out])
    #expect(result.status == 0, "stderr: \(result.stderr)")
    return (try #require(doneEvents(result.stderr).last), try SafeTensorsFile(path: out))
  }
  let first = try run(fps: 2, "first.safetensors")
  #expect(first.counts["frames_encoded"] as? Int == 6)
  // The same run again: nothing decoded or encoded, the same embeddings.
  let again = try run(fps: 2, "again.safetensors")
  #expect(again.counts["frames_encoded"] as? Int == 0 && again.counts["frames_decoded"] as? Int == 0)
  #expect(again.counts["frames_from_cache"] as? Int == 6)
  #expect(try again.file.tensor("embeddings") == first.file.tensor("embeddings"))
  // Twice the frames: ticks every 0.25 s include the 0.5 s ones, so six are new.
  let double = try run(fps: 4, "double.safetensors")
  #expect(double.counts["frames_encoded"] as? Int == 6 && double.counts["frames_from_cache"] as? Int == 6)
  #expect(double.file.metadata["recipe.id"] == first.file.metadata["recipe.id"])
  // The export names the cache entry that holds its frames.
  let entries = try FileManager.default.subpathsOfDirectory(atPath: cache).filter { $0.hasSuffix(".safetensors") }
  let recipe = try #require(first.file.metadata["recipe.id"])
  let source = try #require(first.file.metadata["source.sha256"])
  #expect(entries.count == 1 && entries[0].contains(recipe) && entries[0].contains(source), "\(entries)")
}

@Test func writersKilledMidWriteLeaveNoDamagedEntry() throws {
  let directory = try makeTemporaryDirectory()
  defer { try? FileManager.default.removeItem(at: directory) }
  let video = try longerVideo(in: directory, seconds: 40)
  let cache = directory.appendingPathComponent("cache")
  var killedWhileWriting = 0
  var generator = SystemRandomNumberGenerator()
  let rounds = 20
  for round in 0..<rounds {
    let leftovers = temporaryFiles(under: cache)
    // A new frame budget each round, so every run has frames to write (with tokens, so the
    // entry is large and the write takes a while).
    let process = try launch([
      "video", video, "-m", model, "--fps", String(2 + round), "--tokens", "--cache", cache.path, "--progress", "none",
      "-o", directory.appendingPathComponent("out-\(round).safetensors").path,
    ])
    if round % 2 == 0 {
      // Kill the moment this writer's temporary entry file appears (or after a few seconds).
      let deadline = Date().addingTimeInterval(5)
      var writing = false
      while process.isRunning && Date() < deadline && !writing {
        writing = !temporaryFiles(under: cache).subtracting(leftovers).isEmpty
        if !writing { usleep(200) }
      }
      if writing { killedWhileWriting += 1 }
    } else {
      usleep(UInt32.random(in: 0...400_000, using: &generator))
    }
    kill(process.processIdentifier, SIGKILL)
    process.waitUntilExit()
  }
  let check = try verify(cache)
  #expect(check.status == 0, "cache verify: \(check.stdout)\(check.stderr)")
  #expect(!check.stdout.contains("damaged "), "\(check.stdout)")
  #expect(killedWhileWriting > 0, "no kill landed while a temporary entry file existed")

  // The cache still works: a complete run succeeds and its entry verifies.
  let finish = try CLI.run(["video", video, "-m", model, "--fps", "3", "--tokens", "--cache", cache.path,
    "-o", directory.appendingPathComponent("final.safetensors").path])
  #expect(finish.status == 0, "stderr: \(finish.stderr)")
  let final = try verify(cache)
  #expect(final.status == 0 && final.stdout.contains("1 entries sound"), "cache verify: \(final.stdout)")
}

@Test func fourProcessesOnOneCacheEncodeEachFrameOnce() throws {
  let directory = try makeTemporaryDirectory()
  defer { try? FileManager.default.removeItem(at: directory) }
  let inputs = [try longerVideo(in: directory, seconds: 12), Repository.fixture("media/vfr.mkv")]
  let cache = directory.appendingPathComponent("cache")
  let logs = (0..<4).map { directory.appendingPathComponent("progress-\($0).jsonl") }
  let processes = try logs.enumerated().map { i, log in
    try launch(
      ["video"] + inputs + [
        "-m", model, "--fps", "10", "--cache", cache.path, "--progress", "json",
        "-o", directory.appendingPathComponent("out-\(i)").path,
      ], stderr: log)
  }
  for process in processes { process.waitUntilExit() }
  #expect(processes.allSatisfy { $0.terminationStatus == 0 })

  var encoded: [String: Int] = [:]
  for log in logs {
    let lines = try String(contentsOf: log, encoding: .utf8).split(separator: "\n")
    let done = lines.compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
      .filter { $0["event"] as? String == "done" }
    #expect(done.count == inputs.count, "\(log.lastPathComponent): \(lines)")
    for object in done {
      encoded[object["item"] as? String ?? "", default: 0] += object["frames_encoded"] as? Int ?? 0
    }
  }
  for input in inputs {
    // Every process chose the same frames; together they encoded each distinct one once.
    let stem = ((input as NSString).lastPathComponent as NSString).deletingPathExtension
    var chosen: [Set<Int64>] = []
    for i in 0..<processes.count {
      let file = try SafeTensorsFile(path: directory.appendingPathComponent("out-\(i)/\(stem).safetensors").path)
      guard case .int64(let frames) = try file.array("frame_index").values else { throw CacheTestError.wrongType }
      chosen.append(Set(frames))
    }
    #expect(Set(chosen).count == 1)
    #expect(encoded[input] == chosen[0].count, "\(input): \(encoded[input] ?? 0) encodings of \(chosen[0].count) frames")
  }
  let check = try verify(cache)
  #expect(check.status == 0, "cache verify: \(check.stdout)\(check.stderr)")
}

private enum CacheTestError: Error { case wrongType }
