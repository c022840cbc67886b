import Core
import Foundation
import Speech
import Testing

/// Log-mel against transformers' WhisperFeatureExtractor (NumPy path, float64 STFT). Tolerance
/// 1e-4 in output units ((log10 + 4) / 4): our STFT runs in Float32, whose rounding moves log10
/// by about 1e-6 for bins that matter; the clamp at max - 8 keeps tiny bins out of play.
@Test(arguments: [80, 128])
func logMelMatchesTransformers(melBins: Int) throws {
  let samples = try Fixtures.waveform()
  let reference = try Fixtures.reference("logmel")
  let frames = try reference.array("frames")
  guard case .int64(let columns) = frames.values else { throw FixtureError.wrongType("frames") }
  let extractor = LogMelSpectrogram(melBins: melBins)
  var worst: Float = 0
  for (w, start) in stride(from: 0, to: samples.count, by: AudioFrontEnd.samplesPerWindow).enumerated() {
    let window = Array(samples[start..<min(start + AudioFrontEnd.samplesPerWindow, samples.count)])
    let mel = extractor(window)
    #expect(mel.shape == [melBins, AudioFrontEnd.melFramesPerWindow])
    let expected = try reference.tensor("logmel\(melBins)_window\(w)")
    var picked = [Float]()
    for b in 0..<melBins { for c in columns { picked.append(mel.scalars[b * mel.shape[1] + Int(c)]) } }
    worst = max(worst, expectClose(Tensor(shape: expected.shape, scalars: picked), expected, tolerance: 1e-4, "log-mel \(melBins) window \(w)"))
  }
  print("log-mel \(melBins) bins: max abs diff vs transformers \(worst)")
}

enum FixtureError: Error { case wrongType(String) }
