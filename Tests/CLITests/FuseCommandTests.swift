import Core
import Foundation
import TestSupport
import Testing

/// `mmencode fuse` on the Qwen2-Audio tower's real frames (a `.safetensors` with a `frames` tensor,
/// fixtures/reference/speech/fusion_encoder.safetensors) equals the NumPy fusion reference; the
/// output has no LayerNorm, and span times use the default 25 Hz. Tolerance 1e-4 as for fusion in
/// the Speech tests (float32 sums in another order; picks kept clear of ties by the generator).
@Test(arguments: ["head", "uniform"])
func fuseCommandMatchesTheReferenceOnEncoderFrames(variant: String) throws {
  let directory = try makeTemporaryDirectory()
  defer { try? FileManager.default.removeItem(at: directory) }
  let input = Repository.fixture("reference/speech/fusion_encoder.safetensors")
  let reference = try SafeTensorsFile(path: input)
  let out = directory.appendingPathComponent("fused.safetensors").path
  var arguments = ["fuse", input, "--target-length", "100", "-o", out, "--progress", "none"]
  if variant == "head" { arguments += ["--ctc-head", SpeechCLI.qwenHead] }
  let result = try CLI.run(arguments)
  #expect(result.status == 0, "stderr: \(result.stderr)")
  let output = try SafeTensorsFile(path: out)
  SpeechCLI.expectClose(try output.array("fused"), try reference.array("fused_\(variant)_100"), tolerance: 1e-4, "fused")
  let spans = try output.array("spans")
  SpeechCLI.expectIdentical(spans, try reference.array("spans_\(variant)_100"), "spans")
  guard case .int64(let s) = spans.values else {
    Issue.record("spans are \(spans.values), not int64")
    return
  }
  let seconds = s.enumerated().map { i, frame in Double(i % 2 == 0 ? frame : frame + 1) / 25 }
  SpeechCLI.expectIdentical(try output.array("span_seconds"), NamedArray("span_seconds", shape: spans.shape, values: .float64(seconds)), "span_seconds")
  #expect(output.metadata["fuse.input_frames"] == "925" && output.metadata["fuse.output_frames"] == "100")
  #expect(output.metadata["fuse.ctc_head"] == (variant == "head" ? "true" : "false"))
  #expect(output.metadata["fuse.pass_lengths"] == "462,231,115,100")
}

/// float16 and float64 `.npy` frames (fixtures/reference/speech-e2e/fuse_*.npy) at 50 Hz.
@Test(arguments: ["f16", "f64"], ["head", "uniform"])
func fuseCommandReadsNPYFrames(dtype: String, variant: String) throws {
  let directory = try makeTemporaryDirectory()
  defer { try? FileManager.default.removeItem(at: directory) }
  let expected = try SafeTensorsFile(path: SpeechCLI.e2e("fuse_expected.safetensors"))
  let target = try #require(expected.metadata["target_\(dtype)_\(variant)"])
  let rate = try #require(expected.metadata["frame_rate"])
  let out = directory.appendingPathComponent("fused").path
  var arguments = [
    "fuse", SpeechCLI.e2e("fuse_\(dtype).npy"), "--target-length", target, "--frame-rate", rate, "-o", out,
    "--format", "npy", "--progress", "none",
  ]
  if variant == "head" { arguments += ["--ctc-head", Repository.fixture("models/ctc-head-d8")] }
  let result = try CLI.run(arguments)
  #expect(result.status == 0, "stderr: \(result.stderr)")
  let (arrays, metadata) = try readNPYOutput(out)
  #expect(arrays.map(\.name) == ["fused", "span_seconds", "spans"])
  let key = "\(dtype)_\(variant)"
  SpeechCLI.expectClose(arrays[0], try expected.array("fused_\(key)"), tolerance: 1e-4, "\(key) fused")
  SpeechCLI.expectIdentical(arrays[1], try expected.array("span_seconds_\(key)"), "\(key) span_seconds")
  SpeechCLI.expectIdentical(arrays[2], try expected.array("spans_\(key)"), "\(key) spans")
  #expect(metadata["fuse.frame_rate"] == rate)
}

/// `speech --frames` then `fuse` on that file gives the same spans as fusing inside `speech`.
@Test func fuseCommandTakesTheSpeechCommandsFrames() throws {
  let directory = try makeTemporaryDirectory()
  defer { try? FileManager.default.removeItem(at: directory) }
  let speech = directory.appendingPathComponent("speech.safetensors").path
  let fused = directory.appendingPathComponent("fused.safetensors").path
  let encoded = try CLI.run([
    "speech", SpeechCLI.longClip, "-m", SpeechCLI.qwenModel, "--ctc-head", SpeechCLI.qwenHead,
    "--target-length", "245", "--frames", "-o", speech, "--progress", "none",
  ])
  #expect(encoded.status == 0, "stderr: \(encoded.stderr)")
  let result = try CLI.run([
    "fuse", speech, "--target-length", "245", "--ctc-head", SpeechCLI.qwenHead, "-o", fused, "--progress", "none",
  ])
  #expect(result.status == 0, "stderr: \(result.stderr)")
  let a = try SafeTensorsFile(path: speech)
  let b = try SafeTensorsFile(path: fused)
  SpeechCLI.expectIdentical(try b.array("spans"), try a.array("spans"), "spans")
  SpeechCLI.expectIdentical(try b.array("span_seconds"), try a.array("span_seconds"), "span_seconds")
  #expect(try b.array("fused").shape == [245, 20])
}
