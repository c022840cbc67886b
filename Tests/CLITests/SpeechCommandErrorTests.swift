import Core
import Foundation
import TestSupport
import Testing

/// Runs `mmencode speech` with `arguments` (plus `-o` into a fresh directory) and expects a failure
/// reported in exactly one line that contains every string of `mentions`, with no output left.
private func expectSpeechFailure(
  _ arguments: [String], mentions: [String], sourceLocation: SourceLocation = #_sourceLocation
) throws {
  let directory = try makeTemporaryDirectory()
  defer { try? FileManager.default.removeItem(at: directory) }
  let out = directory.appendingPathComponent("out.safetensors").path
  let result = try CLI.run(["speech"] + arguments + ["-o", out, "--progress", "none"])
  #expect(result.status != 0, "exit 0 for \(arguments)", sourceLocation: sourceLocation)
  let lines = SpeechCLI.lines(result.stderr)
  #expect(lines.count == 1, "stderr: \(result.stderr)", sourceLocation: sourceLocation)
  for text in mentions {
    #expect(result.stderr.contains(text), "'\(text)' not in stderr: \(result.stderr)", sourceLocation: sourceLocation)
  }
  #expect(try FileManager.default.contentsOfDirectory(atPath: directory.path).isEmpty, sourceLocation: sourceLocation)
}

@Test func speechCommandRefusesAVideoWithoutAudio() throws {
  let file = Repository.fixture("media/h264_bframes.mp4")
  try expectSpeechFailure([file, "-m", SpeechCLI.qwenModel], mentions: [file, "has no audio stream"])
}

@Test(arguments: [
  ("truncated.wav", "truncated"), ("truncated.flac", "truncated"), ("empty.mp4", "the file is empty"),
  ("not_media.mp4", "not a media file"),
])
func speechCommandRefusesDamagedAudio(name: String, problem: String) throws {
  let file = Repository.fixture("media/\(name)")
  try expectSpeechFailure([file, "-m", SpeechCLI.qwenModel], mentions: [file, problem])
}

/// Damage in the middle of the AAC stream: the decoder's error stops the file at that point rather
/// than leaving a gap in the audio.
@Test func speechCommandRefusesCorruptAudio() throws {
  let directory = try makeTemporaryDirectory()
  defer { try? FileManager.default.removeItem(at: directory) }
  var bytes = try Data(contentsOf: URL(fileURLWithPath: SpeechCLI.longClip))
  let middle = bytes.count / 2
  bytes.replaceSubrange(middle..<(middle + 2000), with: Data(count: 2000))
  let file = directory.appendingPathComponent("damaged.m4a").path
  try bytes.write(to: URL(fileURLWithPath: file))
  try expectSpeechFailure([file, "-m", SpeechCLI.qwenModel], mentions: [file, "decoding failed"])
}

@Test func speechCommandRefusesAMissingModel() throws {
  try expectSpeechFailure(
    [SpeechCLI.shortClip, "-m", "/nonexistent/model"], mentions: ["/nonexistent/model", "no such directory"])
}

/// A model directory with its config but no weights.
@Test func speechCommandRefusesAModelWithoutWeights() throws {
  let model = try makeTemporaryDirectory()
  defer { try? FileManager.default.removeItem(at: model) }
  try FileManager.default.copyItem(
    atPath: SpeechCLI.whisperModel + "/config.json", toPath: model.appendingPathComponent("config.json").path)
  try expectSpeechFailure([SpeechCLI.shortClip, "-m", model.path], mentions: [model.path])
}

/// The Qwen2-Audio head is 20 wide; the Whisper encoder gives 24-wide frames.
@Test func speechCommandRefusesAHeadThatDoesNotFitTheEncoder() throws {
  try expectSpeechFailure(
    [SpeechCLI.shortClip, "-m", SpeechCLI.whisperModel, "--ctc-head", SpeechCLI.qwenHead],
    mentions: [SpeechCLI.qwenHead, "CTC head does not fit", "20-wide", "24"])
}

/// A head whose LayerNorm is narrower than its projector's input.
@Test func speechCommandRefusesAHeadWhoseTensorsDoNotFit() throws {
  let directory = try makeTemporaryDirectory()
  defer { try? FileManager.default.removeItem(at: directory) }
  let head = directory.appendingPathComponent("head.safetensors").path
  func zeros(_ name: String, _ shape: [Int]) -> NamedArray {
    NamedArray(name, shape: shape, values: .float32([Float](repeating: 0, count: shape.reduce(1, *))))
  }
  try writeSafeTensors(
    [
      zeros("audio_tower.layer_norm.weight", [10]), zeros("audio_tower.layer_norm.bias", [10]),
      zeros("ctc_decoder.projector.weight", [16, 20]), zeros("ctc_decoder.projector.bias", [16]),
      zeros("ctc_decoder.linear.weight", [5, 16]),
    ], metadata: [:], to: head)
  try expectSpeechFailure(
    [SpeechCLI.shortClip, "-m", SpeechCLI.qwenModel, "--ctc-head", head],
    mentions: [head, "LayerNorm has width 10"])
}

@Test func speechCommandRefusesTargetLengthZero() throws {
  try expectSpeechFailure(
    [SpeechCLI.shortClip, "-m", SpeechCLI.qwenModel, "--target-length", "0"],
    mentions: ["target length must be at least 1, got 0"])
}

@Test func speechCommandRefusesATargetOffTheLadder() throws {
  try expectSpeechFailure(
    [SpeechCLI.shortClip, "-m", SpeechCLI.qwenModel, "--schedule", "ladder", "--target-length", "150"],
    mentions: ["cannot reach target length 150", "400, 200, 100, 50, 25, 12"])
}

/// The ladder is for one window; the 39 s clip is refused once its 31st second arrives, before
/// the second window is encoded.
@Test func speechCommandRefusesTheLadderOnMoreThanOneWindow() throws {
  try expectSpeechFailure(
    [SpeechCLI.longClip, "-m", SpeechCLI.qwenModel, "--schedule", "ladder", "--target-length", "100"],
    mentions: [SpeechCLI.longClip, "at most one 30 s window", "halving"])
}
