import Core
import Foundation
import TestSupport
import Testing

// `mmencode video --speech`: the audio track's fused speech joins the frame embeddings in the
// same output, exactly as `mmencode speech` computes it for the same file (whose encoder and fusion
// are checked against transformers and the NumPy fusion reference in SpeechCommandParityTests).

private let clipModel = Repository.fixture("models/clip-tiny-a")
/// 3 s of video with an audio track (fixtures/make_media.sh).
private let sample = Repository.fixture("media/sample.mp4")

@Test func videoWithSpeechAddsTheSpeechCommandsArrays() throws {
  let directory = try makeTemporaryDirectory()
  defer { try? FileManager.default.removeItem(at: directory) }
  let videoOut = directory.appendingPathComponent("video.safetensors").path
  let speechOut = directory.appendingPathComponent("speech.safetensors").path
  let video = try CLI.run([
    "video", sample, "-m", clipModel, "--fps", "1", "--no-cache", "--progress", "none", "-o", videoOut,
    "--speech", SpeechCLI.whisperModel, "--speech-ctc-head", SpeechCLI.whisperHead, "--speech-target-length", "10",
  ])
  #expect(video.status == 0, "stderr: \(video.stderr)")
  let speech = try CLI.run([
    "speech", sample, "-m", SpeechCLI.whisperModel, "--ctc-head", SpeechCLI.whisperHead, "--target-length", "10",
    "--progress", "none", "-o", speechOut,
  ])
  #expect(speech.status == 0, "stderr: \(speech.stderr)")

  let combined = try SafeTensorsFile(path: videoOut)
  let alone = try SafeTensorsFile(path: speechOut)
  #expect(combined.names == [
    "embeddings", "frame_index", "pts", "speech_fused", "speech_span_seconds", "speech_spans", "timestamps",
  ])
  #expect(try combined.array("embeddings").shape == [3, 24])
  for name in ["fused", "spans", "span_seconds"] {
    let (a, b) = (try combined.array("speech_" + name), try alone.array(name))
    #expect(a.shape == b.shape && a.values == b.values, "speech_\(name) differs from `mmencode speech`'s \(name)")
  }
  #expect(try combined.array("speech_fused").shape == [10, 24])
  let m = combined.metadata
  #expect(m["speech.model"] == SpeechCLI.whisperModel)
  #expect(m["speech.model.sha256"] == (try modelHash(directory: SpeechCLI.whisperModel)))
  #expect(m["speech.ctc_head"] == "true" && m["speech.output_frames"] == "10")
  #expect(m["model.sha256"] == (try modelHash(directory: clipModel)))
  for key in alone.metadata.keys where key.hasPrefix("speech.") {
    #expect(m[key] == alone.metadata[key], "\(key)")
  }
}

@Test func videoWithSpeechRefusesAVideoWithoutAudioAndWritesNothing() throws {
  let directory = try makeTemporaryDirectory()
  defer { try? FileManager.default.removeItem(at: directory) }
  let silent = Repository.fixture("media/vp9.webm")
  let out = directory.appendingPathComponent("out.safetensors").path
  let result = try CLI.run([
    "video", silent, "-m", clipModel, "--frames", "2", "--no-cache", "--progress", "none", "-o", out,
    "--speech", SpeechCLI.whisperModel,
  ])
  #expect(result.status != 0)
  let lines = result.stderr.split(separator: "\n")
  #expect(lines.count == 1 && lines[0].contains(silent) && lines[0].contains("no audio"), "stderr: \(result.stderr)")
  #expect(!FileManager.default.fileExists(atPath: out))
}

@Test func speechOptionsWithoutSpeechAreRefused() throws {
  let result = try CLI.run(["video", sample, "-m", clipModel, "--speech-ctc-head", SpeechCLI.whisperHead])
  #expect(result.status != 0 && result.stderr.contains("--speech"), "stderr: \(result.stderr)")
}
