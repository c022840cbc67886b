import Core
import Foundation
import Speech
import Testing

/// The 37 s waveform cut into 30 s windows, as spec section 4 does.
private func windows() throws -> [[Float]] {
  let samples = try Fixtures.waveform()
  return stride(from: 0, to: samples.count, by: AudioFrontEnd.samplesPerWindow).map {
    Array(samples[$0..<min($0 + AudioFrontEnd.samplesPerWindow, samples.count)])
  }
}

/// Encoder outputs against transformers run on the HF NumPy-path log-mel, per window, valid frames
/// only. Tolerance 1e-4: our log-mel differs by < 1e-5 and the fp32 encoder adds rounding of the
/// same order (the weights are the checkpoint's fp16 values in both).
@Test func whisperEncoderMatchesTransformers() throws {
  let encoder = try SpeechEncoder(directory: Fixtures.model("whisper-tiny"))
  #expect(encoder.config.architecture == .whisper && encoder.framesPerSecond == 50)
  let reference = try Fixtures.reference("whisper_encoder")
  var worst: Float = 0
  for (w, window) in try windows().enumerated() {
    let expected = try reference.tensor("last_hidden_state_window\(w)")
    worst = max(worst, expectClose(encoder.encodeWindow(window), expected, tolerance: 1e-4, "whisper window \(w)"))
  }
  print("whisper encoder: max abs diff vs transformers \(worst)")
}

@Test func qwen2AudioTowerMatchesTransformers() throws {
  let encoder = try SpeechEncoder(directory: Fixtures.model("qwen2audio-tiny"))
  #expect(encoder.config.architecture == .qwen2Audio && encoder.framesPerSecond == 25)
  let reference = try Fixtures.reference("qwen2audio_encoder")
  var worst: Float = 0
  for (w, window) in try windows().enumerated() {
    let pooled = encoder.encodeWindow(window)
    worst = max(worst, expectClose(pooled, try reference.tensor("pooled_window\(w)"), tolerance: 1e-4, "pooled window \(w)"))
    worst = max(worst, expectClose(encoder.outputNorm(pooled), try reference.tensor("normed_window\(w)"), tolerance: 1e-4, "normed window \(w)"))
  }
  print("qwen2-audio tower: max abs diff vs transformers \(worst)")
}
