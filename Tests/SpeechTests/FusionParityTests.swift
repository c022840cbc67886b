import Core
import Foundation
import Speech
import Testing

/// Spec 7.12: fusion against fixtures/fusion_reference.py (NumPy, written from the spec), with the
/// small random CTC head so densities vary. Tolerance 1e-4: both sides run in fp32 and sum in
/// different orders (~1e-7 per pass); the generator keeps every pass's last pick at least 1e-5
/// above the first unpicked similarity, so rounding cannot flip a pick and spans must be equal.

private func spans(_ file: SafeTensorsFile, _ name: String) throws -> [FrameSpan] {
  guard case .int64(let v) = try file.array(name).values else { throw FixtureError.wrongType(name) }
  return stride(from: 0, to: v.count, by: 2).map { FrameSpan(first: Int(v[$0]), last: Int(v[$0 + 1])) }
}

@Test(arguments: [751, 1125, 2250, 7500])
func fusionOfRandomFramesMatchesNumPy(t0: Int) throws {
  let reference = try Fixtures.reference("fusion_random")
  let head = try CTCDensityHead(path: Fixtures.model("ctc-head-d8"))
  let frames = try reference.tensor("frames").rows(0..<t0)
  var worst: Float = 0
  for target in [750, 400, 100, 12] {
    let result = try fuse(frames, targetLength: target, density: head)
    worst = max(worst, expectClose(result.frames, try reference.tensor("fused_\(t0)_\(target)"), tolerance: 1e-4, "T0 \(t0) L \(target)"))
    #expect(result.spans == (try spans(reference, "spans_\(t0)_\(target)")), "spans T0 \(t0) L \(target)")
  }
  print("fusion T0 \(t0): max abs diff vs NumPy \(worst)")
}

/// The Qwen2-Audio tower's real output (transformers' pre-LN pooled frames, 925 of them) fused
/// with the tower's CTC head and with density 1, and the ladder on the first window.
@Test func fusionOfEncoderOutputMatchesNumPy() throws {
  let reference = try Fixtures.reference("fusion_encoder")
  let head = try CTCDensityHead(path: Fixtures.model("ctc-head-qwen2audio-tiny"))
  let frames = try reference.tensor("frames")
  var worst: Float = 0
  for target in [100, 12] {
    for (name, density) in [("head", head as any ContentDensity), ("uniform", UniformDensity())] {
      let result = try fuse(frames, targetLength: target, density: density)
      worst = max(worst, expectClose(result.frames, try reference.tensor("fused_\(name)_\(target)"), tolerance: 1e-4, "\(name) L \(target)"))
      #expect(result.spans == (try spans(reference, "spans_\(name)_\(target)")))
    }
  }
  let ladder = try fuse(frames.rows(0..<750), targetLength: 100, schedule: .ladder, density: head)
  worst = max(worst, expectClose(ladder.frames, try reference.tensor("fused_ladder_100"), tolerance: 1e-4, "ladder"))
  #expect(ladder.spans == (try spans(reference, "spans_ladder_100")))
  print("fusion of encoder output: max abs diff vs NumPy \(worst)")
}

/// End to end: our encoder on the waveform, then fusion and the output LayerNorm, against NumPy
/// fusion of transformers' frames. Same tolerance; the encoder adds < 1e-5.
@Test func speechPipelineMatchesReference() throws {
  let encoder = try SpeechEncoder(directory: Fixtures.model("qwen2audio-tiny"))
  let head = try CTCDensityHead(path: Fixtures.model("ctc-head-qwen2audio-tiny"))
  let stream = LongSpeechEncoder(encoder: encoder)
  try stream.append(try Fixtures.waveform())
  let speech = try encoder.fuse(try stream.finish(), targetLength: 100, head: head)
  let reference = try Fixtures.reference("fusion_encoder")
  let expected = try reference.tensor("fused_head_100")
  expectClose(speech.fused, encoder.outputNorm(expected), tolerance: 1e-4, "fused after LN")
  #expect(speech.spans == (try spans(reference, "spans_head_100")))
  #expect(speech.passLengths == [462, 231, 115, 100] && speech.inputFrames == 925 && speech.windowCount == 2)
  #expect(speech.usedDensityHead && speech.metadata["ctc_head"] == "true" && speech.metadata["schedule"] == "halving")
  let arrays = speech.arrays
  #expect(arrays.map(\.name) == ["fused", "spans", "span_seconds"])
  #expect(arrays[1].shape == [100, 2] && arrays[2].shape == [100, 2])
  if case .float64(let seconds) = arrays[2].values {
    // Spans tile the audio at 25 frames per second: 0 s to 925 / 25 = 37 s.
    #expect(seconds.first == 0 && seconds.last == 37)
  } else {
    Issue.record("span_seconds is not float64")
  }
  let uniform = try encoder.fuse(try { let s = LongSpeechEncoder(encoder: encoder); try s.append(try Fixtures.waveform()); return try s.finish() }(), targetLength: 100)
  #expect(!uniform.usedDensityHead && uniform.metadata["ctc_head"] == "false")
}
