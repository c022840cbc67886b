import Core
import Foundation
import TestSupport
import Testing

/// Runs `mmencode fuse` and expects one line of stderr mentioning every string in `mentions`, a
/// non-zero exit and no output.
private func expectFuseFailure(
  _ frames: String, _ options: [String], mentions: [String], sourceLocation: SourceLocation = #_sourceLocation
) throws {
  let directory = try makeTemporaryDirectory()
  defer { try? FileManager.default.removeItem(at: directory) }
  let out = directory.appendingPathComponent("out.safetensors").path
  let result = try CLI.run(["fuse", frames] + options + ["-o", out, "--progress", "none"])
  #expect(result.status != 0, "exit 0 for \(frames) \(options)", sourceLocation: sourceLocation)
  #expect(SpeechCLI.lines(result.stderr).count == 1, "stderr: \(result.stderr)", sourceLocation: sourceLocation)
  for text in mentions {
    #expect(result.stderr.contains(text), "'\(text)' not in stderr: \(result.stderr)", sourceLocation: sourceLocation)
  }
  #expect(!FileManager.default.fileExists(atPath: out), sourceLocation: sourceLocation)
}

/// Writes `array` as `<name>.npy` in `directory` and returns its path.
private func npy(_ array: NamedArray, in directory: URL) throws -> String {
  let path = directory.appendingPathComponent("\(array.name).npy").path
  try NPY.write(array, to: path)
  return path
}

@Test func fuseCommandRefusesFramesOfTheWrongRank() throws {
  let directory = try makeTemporaryDirectory()
  defer { try? FileManager.default.removeItem(at: directory) }
  let cube = try npy(NamedArray("cube", shape: [2, 3, 4], values: .float32(.init(repeating: 1, count: 24))), in: directory)
  try expectFuseFailure(cube, ["--target-length", "1"], mentions: [cube, "expected [T, D] frames, got shape [2, 3, 4]"])
  let line = try npy(NamedArray("line", shape: [6], values: .float32(.init(repeating: 1, count: 6))), in: directory)
  try expectFuseFailure(line, ["--target-length", "1"], mentions: [line, "got shape [6]"])
}

@Test func fuseCommandRefusesIntegerFrames() throws {
  let directory = try makeTemporaryDirectory()
  defer { try? FileManager.default.removeItem(at: directory) }
  let integers = try npy(NamedArray("integers", shape: [4, 2], values: .int64(.init(repeating: 1, count: 8))), in: directory)
  try expectFuseFailure(integers, ["--target-length", "1"], mentions: [integers, "unsupported dtype"])
  let safetensors = directory.appendingPathComponent("integers.safetensors").path
  try writeSafeTensors(
    [NamedArray("frames", shape: [4, 2], values: .int64(.init(repeating: 1, count: 8)))], metadata: [:], to: safetensors)
  try expectFuseFailure(safetensors, ["--target-length", "1"], mentions: [safetensors, "unsupported dtype I64"])
}

@Test func fuseCommandRefusesFilesWithoutFrames() throws {
  let directory = try makeTemporaryDirectory()
  defer { try? FileManager.default.removeItem(at: directory) }
  // A checkpoint is a safetensors file, but has no `frames` tensor.
  let checkpoint = SpeechCLI.whisperModel + "/model.safetensors"
  try expectFuseFailure(checkpoint, ["--target-length", "1"], mentions: [checkpoint, "missing tensor 'frames'"])
  let text = directory.appendingPathComponent("frames.txt").path
  try Data("1 2 3\n".utf8).write(to: URL(fileURLWithPath: text))
  try expectFuseFailure(text, ["--target-length", "1"], mentions: [text, "not a frames file"])
  try expectFuseFailure("/nonexistent/frames.npy", ["--target-length", "1"], mentions: ["/nonexistent/frames.npy"])
}

@Test func fuseCommandRefusesNonFiniteFrames() throws {
  let directory = try makeTemporaryDirectory()
  defer { try? FileManager.default.removeItem(at: directory) }
  let frames = try npy(NamedArray("nan", shape: [3, 2], values: .float32([1, 2, .nan, 1, 2, 3])), in: directory)
  try expectFuseFailure(frames, ["--target-length", "1"], mentions: [frames, "non-finite"])
}

/// The width-8 head on the tower's 20-wide frames.
@Test func fuseCommandRefusesAHeadThatDoesNotFitTheFrames() throws {
  let frames = Repository.fixture("reference/speech/fusion_encoder.safetensors")
  try expectFuseFailure(
    frames, ["--target-length", "100", "--ctc-head", Repository.fixture("models/ctc-head-d8")],
    mentions: ["ctc-head-d8", "CTC head does not fit", frames])
}

@Test func fuseCommandRefusesBadTargets() throws {
  let frames = Repository.fixture("reference/speech/fusion_encoder.safetensors")
  try expectFuseFailure(frames, ["--target-length", "0"], mentions: ["target length must be at least 1"])
  try expectFuseFailure(
    frames, ["--target-length", "150", "--schedule", "ladder"], mentions: ["cannot reach target length 150"])
  // 925 frames at 25 Hz are 37 s: more than the ladder's one window.
  try expectFuseFailure(
    frames, ["--target-length", "100", "--schedule", "ladder"], mentions: [frames, "at most one 30 s window"])
}
