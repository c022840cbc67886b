import Core
import Foundation
import TestSupport
import Testing

/// Every audio container the fixtures hold, and a video's audio track, goes through; with several
/// inputs `-o` is a directory of outputs named after them.
@Test func speechCommandReadsEveryAudioFormat() throws {
  let directory = try makeTemporaryDirectory()
  defer { try? FileManager.default.removeItem(at: directory) }
  let names = ["tone.wav", "tone.flac", "tone.mp3", "tone.m4a", "sample.mp4"]
  let out = directory.appendingPathComponent("out").path
  let result = try CLI.run(
    ["speech"] + names.map { Repository.fixture("media/\($0)") }
      + ["-m", SpeechCLI.whisperModel, "-o", out, "--progress", "none"])
  #expect(result.status == 0, "stderr: \(result.stderr)")
  for name in names {
    let output = try SafeTensorsFile(path: out + "/\(name).safetensors")
    let fused = try output.array("fused")
    let samples = try #require(output.metadata["speech.samples"].flatMap { Int($0) })
    // Whisper: one frame per 320 samples (two 10 ms mel frames), fewer than the default target, so
    // nothing is merged.
    #expect(fused.shape == [(samples + 319) / 320, 24], "\(name): \(fused.shape) for \(samples) samples")
    #expect(output.metadata["speech.window_count"] == "1", "\(name)")
    #expect(output.metadata["speech.pass_lengths"] == "", "\(name)")
  }
  // The tones are 0.5 s; the video's audio track is 3 s.
  #expect(try SafeTensorsFile(path: out + "/tone.wav.safetensors").metadata["speech.samples"] == "8000")
  #expect(try SafeTensorsFile(path: out + "/sample.mp4.safetensors").metadata["speech.samples"].map { Int($0)! > 47_000 } == true)
}

/// A failing input is reported in one line and the others are still written; the exit status says
/// something failed, and nothing is written for the failed file.
@Test func speechCommandGoesOnAfterAFailedInput() throws {
  let directory = try makeTemporaryDirectory()
  defer { try? FileManager.default.removeItem(at: directory) }
  let reference = try SafeTensorsFile(path: SpeechCLI.e2e("speech_qwen2audio.safetensors"))
  let target = try #require(reference.metadata["target_head"])
  let videoOnly = Repository.fixture("media/h264_bframes.mp4")
  let out = directory.appendingPathComponent("out").path
  let result = try CLI.run([
    "speech", SpeechCLI.shortClip, videoOnly, SpeechCLI.longClip, "-m", SpeechCLI.qwenModel,
    "--ctc-head", SpeechCLI.qwenHead, "--target-length", target, "-o", out, "--progress", "none",
  ])
  #expect(result.status != 0)
  #expect(SpeechCLI.lines(result.stderr) == ["mmencode: \(videoOnly): has no audio stream"])
  let written = try FileManager.default.contentsOfDirectory(atPath: out).sorted()
  #expect(written == ["long_speech.m4a.safetensors", "speech.wav.safetensors"])
  let first = try SafeTensorsFile(path: out + "/speech.wav.safetensors")
  SpeechCLI.expectClose(try first.array("fused"), try reference.array("fused_head"), tolerance: 1e-4, "first input")
  let last = try SafeTensorsFile(path: out + "/long_speech.m4a.safetensors")
  #expect(try last.array("fused").shape == [Int(target)!, 20])
  #expect(last.metadata["speech.window_count"] == "2")
}

/// Two inputs that would land on the same output name are refused before any work.
@Test func speechCommandRefusesCollidingOutputNames() throws {
  let directory = try makeTemporaryDirectory()
  defer { try? FileManager.default.removeItem(at: directory) }
  let copy = directory.appendingPathComponent("tone.wav").path
  try FileManager.default.copyItem(atPath: Repository.fixture("media/tone.wav"), toPath: copy)
  let out = directory.appendingPathComponent("out").path
  let result = try CLI.run([
    "speech", Repository.fixture("media/tone.wav"), copy, "-m", SpeechCLI.whisperModel, "-o", out, "--progress", "none",
  ])
  #expect(result.status != 0)
  #expect(SpeechCLI.lines(result.stderr).count == 1, "stderr: \(result.stderr)")
  #expect(result.stderr.contains("\(out)/tone.wav.safetensors: cannot write: both"), "stderr: \(result.stderr)")
  #expect(!FileManager.default.fileExists(atPath: out))
}

/// `--progress json` reports windows (with the total estimated from the container) and ends with a
/// summary; `--progress bar` draws a bar with an ETA.
@Test func speechCommandReportsProgressInWindows() throws {
  let directory = try makeTemporaryDirectory()
  defer { try? FileManager.default.removeItem(at: directory) }
  let out = directory.appendingPathComponent("out.safetensors").path
  let json = try CLI.run([
    "speech", SpeechCLI.longClip, "-m", SpeechCLI.qwenModel, "-o", out, "--progress", "json",
  ])
  #expect(json.status == 0, "stderr: \(json.stderr)")
  let events = try SpeechCLI.lines(json.stderr).map {
    try #require(try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any])
  }
  let done = try #require(events.last)
  #expect(done["event"] as? String == "done")
  #expect(done["windows"] as? Int == 2 && done["input_frames"] as? Int == 982)
  #expect(done["output_frames"] as? Int == 750)
  // Never more than one window and one read chunk of samples in memory.
  #expect((done["peak_buffered_samples"] as? Int).map { $0 <= 480_000 + 16_000 } == true)
  let progress = events.filter { $0["event"] as? String == "progress" }
  #expect(progress.first?["completed"] as? Int == 0)
  #expect(progress.allSatisfy { $0["unit"] as? String == "windows" && $0["total"] as? Int == 2 })

  let bar = try CLI.run([
    "speech", SpeechCLI.longClip, "-m", SpeechCLI.qwenModel, "-o", out, "--progress", "bar",
  ])
  #expect(bar.status == 0, "stderr: \(bar.stderr)")
  #expect(bar.stderr.contains("2/2 windows") && bar.stderr.contains("ETA"), "stderr: \(bar.stderr)")
}
