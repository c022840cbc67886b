import Core
import Foundation
import TestSupport
import Testing

/// One end-to-end reference of fixtures/gen_speech_e2e.py: the ffmpeg CLI's samples, transformers'
/// feature extractor and encoder, and the NumPy fusion reference.
struct SpeechParityCase: Sendable, CustomTestStringConvertible {
  /// `speech` (fixtures/media/speech.wav, 3.2 s, one window) or `long_speech` (39 s of AAC, two).
  let audio: String
  /// `whisper` or `qwen2audio`.
  let model: String
  /// `head`, `uniform` or `ladder_head`.
  let variant: String

  var testDescription: String { "\(audio) \(model) \(variant)" }
  var audioPath: String { audio == "speech" ? SpeechCLI.shortClip : SpeechCLI.longClip }
  var modelPath: String { model == "whisper" ? SpeechCLI.whisperModel : SpeechCLI.qwenModel }
  var headPath: String? {
    variant == "uniform" ? nil : model == "whisper" ? SpeechCLI.whisperHead : SpeechCLI.qwenHead
  }
  var schedule: String { variant == "ladder_head" ? "ladder" : "halving" }
  var framesPerSecond: Int { model == "whisper" ? 50 : 25 }

  static let all: [SpeechParityCase] =
    ["speech", "long_speech"].flatMap { audio in
      ["whisper", "qwen2audio"].flatMap { model in
        ["head", "uniform"].map { SpeechParityCase(audio: audio, model: model, variant: $0) }
      }
    } + [SpeechParityCase(audio: "speech", model: "qwen2audio", variant: "ladder_head")]
}

/// `mmencode speech` against the end-to-end references.
///
/// Tolerance 1e-4 (the bound): the encoders match transformers to about 1e-5 (float32 sums in
/// another order), and the generator keeps every fusion pick at least 1e-5 clear of a tie, so the
/// fused frames carry the same rounding noise. Spans, and span times computed from them, must be
/// identical. The largest differences seen were below 1e-5.
@Test(arguments: SpeechParityCase.all)
func speechCommandMatchesTheReference(_ c: SpeechParityCase) throws {
  let directory = try makeTemporaryDirectory()
  defer { try? FileManager.default.removeItem(at: directory) }
  let reference = try SafeTensorsFile(path: SpeechCLI.e2e("\(c.audio)_\(c.model).safetensors"))
  let target = try #require(reference.metadata["target_\(c.variant)"])
  let out = directory.appendingPathComponent("out.safetensors").path
  var arguments = [
    "speech", c.audioPath, "-m", c.modelPath, "--target-length", target, "--schedule", c.schedule,
    "--frames", "-o", out, "--progress", "none",
  ]
  if let head = c.headPath { arguments += ["--ctc-head", head] }
  let result = try CLI.run(arguments)
  #expect(result.status == 0, "stderr: \(result.stderr)")
  #expect(result.stderr.isEmpty, "stderr: \(result.stderr)")

  let output = try SafeTensorsFile(path: out)
  #expect(output.names == ["frames", "fused", "span_seconds", "spans"])
  let expectedFrames = try reference.array("frames")
  SpeechCLI.expectClose(try output.array("frames"), expectedFrames, tolerance: 1e-4, "\(c) frames")
  SpeechCLI.expectClose(
    try output.array("fused"), try reference.array("fused_\(c.variant)"), tolerance: 1e-4, "\(c) fused")
  SpeechCLI.expectIdentical(try output.array("spans"), try reference.array("spans_\(c.variant)"), "\(c) spans")
  SpeechCLI.expectIdentical(
    try output.array("span_seconds"), try reference.array("span_seconds_\(c.variant)"), "\(c) span_seconds")

  let metadata = output.metadata
  #expect(metadata["speech.samples"] == reference.metadata["samples"])
  #expect(metadata["speech.window_count"] == reference.metadata["windows"])
  #expect(metadata["speech.input_frames"] == String(expectedFrames.shape[0]))
  #expect(metadata["speech.output_frames"] == target)
  #expect(metadata["speech.target_length"] == target)
  #expect(metadata["speech.schedule"] == c.schedule)
  #expect(metadata["speech.sample_rate"] == "16000")
  #expect(metadata["speech.frames_per_second"] == String(c.framesPerSecond))
  #expect(metadata["speech.source"] == c.audioPath)
  #expect(metadata["model"] == c.modelPath)
  #expect(metadata["model.sha256"]?.count == 64)
  #expect(metadata["mmencode.version"] != nil)
  if let head = c.headPath {
    #expect(metadata["speech.ctc_head"] == "true")
    let headFile = head.hasSuffix(".safetensors") ? head : head + "/model.safetensors"
    #expect(metadata["speech.ctc_head.sha256"] == (try sha256Manifest([headFile])))
  } else {
    #expect(metadata["speech.ctc_head"] == "false")
    #expect(metadata["speech.ctc_head.sha256"] == nil)
  }
}

/// `--format npy` writes the same arrays as `.npy` files plus metadata.json.
@Test func speechCommandWritesNPY() throws {
  let directory = try makeTemporaryDirectory()
  defer { try? FileManager.default.removeItem(at: directory) }
  let reference = try SafeTensorsFile(path: SpeechCLI.e2e("speech_qwen2audio.safetensors"))
  let target = try #require(reference.metadata["target_uniform"])
  let out = directory.appendingPathComponent("npy").path
  let result = try CLI.run([
    "speech", SpeechCLI.shortClip, "-m", SpeechCLI.qwenModel, "--target-length", target, "-o", out,
    "--format", "npy", "--progress", "none",
  ])
  #expect(result.status == 0, "stderr: \(result.stderr)")
  let (arrays, metadata) = try readNPYOutput(out)
  #expect(arrays.map(\.name) == ["fused", "span_seconds", "spans"])
  SpeechCLI.expectClose(arrays[0], try reference.array("fused_uniform"), tolerance: 1e-4, "npy fused")
  SpeechCLI.expectIdentical(arrays[1], try reference.array("span_seconds_uniform"), "npy span_seconds")
  SpeechCLI.expectIdentical(arrays[2], try reference.array("spans_uniform"), "npy spans")
  #expect(metadata["speech.ctc_head"] == "false" && metadata["speech.output_frames"] == target)
}
