// Port of transformers 4.57 `WhisperFeatureExtractor` (models/whisper/feature_extraction_whisper.py,
// NumPy path) and the helpers it calls in audio_utils.py (`spectrogram`, `mel_filter_bank`,
// `window_function`); the constants follow openai/whisper's audio.py.
import Core
import Foundation

/// Whisper's log-mel spectrogram of one 30 s window, equal to Hugging Face's
/// `WhisperFeatureExtractor` for any number of mel bins (80 and 128 in practice).
///
/// Per window: pad the samples with zeros to 30 s, reflect-pad `fftSize / 2` samples at both ends
/// (`center=True`), take frames of `fftSize` samples every `hopLength` under a periodic Hann window,
/// their power spectra, Slaney-normalised Slaney-scale mel filters, `log10(max(mel, 1e-10))`,
/// clamp at the window's maximum minus 8, then `(x + 4) / 4`. The STFT yields one frame more than
/// the window holds; like the reference, the last one is never used.
public struct LogMelSpectrogram: Sendable {
  /// Number of mel bins (rows of the output).
  public let melBins: Int
  /// `[melBins, frequencyBins]` triangular filters, row-major.
  let filters: [Float]
  /// Periodic Hann window of `fftSize` points.
  let window: [Float]
  private let transform: RealPowerSpectrum

  /// Floor applied to mel energies before the logarithm.
  static let melFloor: Float = 1e-10
  /// Decades of dynamic range kept below each window's maximum.
  static let dynamicRangeDecades: Float = 8
  /// `(log10(mel) + offset) / scale` maps the usual range to roughly [-1, 1].
  static let offset: Float = 4
  static let scale: Float = 4

  public init(melBins: Int) {
    precondition(melBins > 0, "melBins must be positive")
    self.melBins = melBins
    filters = slaneyMelFilters(melBins: melBins)
    window = (0..<AudioFrontEnd.fftSize).map {
      Float(0.5 - 0.5 * cos(2 * Double.pi * Double($0) / Double(AudioFrontEnd.fftSize)))
    }
    transform = RealPowerSpectrum(length: AudioFrontEnd.fftSize)
  }

  /// The log-mel features of one window.
  ///
  /// - `samples`: the window's 16 kHz mono samples, at most `AudioFrontEnd.samplesPerWindow`;
  ///   a shorter (last) window is zero-padded to 30 s first, as the reference does.
  /// - Returns `[melBins, AudioFrontEnd.melFramesPerWindow]`.
  public func callAsFunction(_ samples: UnsafeBufferPointer<Float>) -> Tensor {
    precondition(
      samples.count <= AudioFrontEnd.samplesPerWindow,
      "a window holds at most \(AudioFrontEnd.samplesPerWindow) samples, got \(samples.count)")
    let frameCount = AudioFrontEnd.melFramesPerWindow
    let bins = AudioFrontEnd.frequencyBins
    let padded = reflectPadded(samples)
    var power = [Float](repeating: 0, count: frameCount * bins)
    power.withUnsafeMutableBufferPointer { out in
      let out = SendablePointer(out.baseAddress!)
      padded.withUnsafeBufferPointer { signal in
        let signal = SendableConstPointer(signal.baseAddress!)
        let lanes = RealPowerSpectrum.laneCount
        let groups = ceilDivision(frameCount, lanes)
        let workers = max(1, min(Threads.count, groups))
        DispatchQueue.concurrentPerform(iterations: workers) { worker in
          var work = RealPowerSpectrum.Work(transform)
          var frames = [RealPowerSpectrum.Lanes](repeating: .zero, count: AudioFrontEnd.fftSize)
          var spill = [Float](repeating: 0, count: lanes * bins)
          for group in stride(from: worker, to: groups, by: workers) {
            let first = group * lanes
            for i in 0..<AudioFrontEnd.fftSize {
              var v = RealPowerSpectrum.Lanes.zero
              for lane in 0..<lanes {
                let frame = min(first + lane, frameCount - 1)
                v[lane] = signal.pointer[frame * AudioFrontEnd.hopLength + i]
              }
              frames[i] = v * window[i]
            }
            if first + lanes <= frameCount {
              transform.compute(frames, into: out.pointer + first * bins, rowStride: bins, work: &work)
            } else {
              spill.withUnsafeMutableBufferPointer { spill in
                transform.compute(frames, into: spill.baseAddress!, rowStride: bins, work: &work)
                (out.pointer + first * bins).update(
                  from: spill.baseAddress!, count: (frameCount - first) * bins)
              }
            }
          }
        }
      }
    }
    return Tensor(uninitializedShape: [melBins, frameCount]) { mel in
      filters.withUnsafeBufferPointer { f in
        power.withUnsafeBufferPointer { p in
          // mel[b, t] = Σ_k filters[b, k] power[t, k]
          sgemm(
            m: melBins, n: frameCount, k: bins, a: f.baseAddress!, lda: bins, b: p.baseAddress!,
            ldb: bins, transposeB: true, c: mel.baseAddress!, ldc: frameCount)
        }
      }
      var maximum = -Float.infinity
      for i in 0..<mel.count {
        let v = log10f(max(mel[i], Self.melFloor))
        mel[i] = v
        maximum = max(maximum, v)
      }
      let floor = maximum - Self.dynamicRangeDecades
      for i in 0..<mel.count { mel[i] = (max(mel[i], floor) + Self.offset) / Self.scale }
    }
  }

  /// See ``callAsFunction(_:)-(UnsafeBufferPointer<Float>)``.
  public func callAsFunction(_ samples: [Float]) -> Tensor {
    samples.withUnsafeBufferPointer { self($0) }
  }

  /// The window's samples, zero-padded to 30 s, with `fftSize / 2` mirrored samples on each side
  /// (NumPy's "reflect": the edge sample itself is not repeated).
  private func reflectPadded(_ samples: UnsafeBufferPointer<Float>) -> [Float] {
    let n = AudioFrontEnd.samplesPerWindow
    let pad = AudioFrontEnd.fftSize / 2
    var padded = [Float](repeating: 0, count: n + 2 * pad)
    padded.withUnsafeMutableBufferPointer { p in
      (p.baseAddress! + pad).update(from: samples.baseAddress!, count: samples.count)
      for i in 1...pad {
        p[pad - i] = p[pad + i]
        p[pad + n - 1 + i] = p[pad + n - 1 - i]
      }
    }
    return padded
  }
}

/// `mel_filter_bank(num_frequency_bins: 201, num_mel_filters: melBins, min_frequency: 0,
/// max_frequency: sampleRate / 2, norm: "slaney", mel_scale: "slaney")`, transposed to
/// `[melBins, frequencyBins]`; computed in Double like the reference, stored as Float.
func slaneyMelFilters(melBins: Int) -> [Float] {
  let bins = AudioFrontEnd.frequencyBins
  let nyquist = Double(AudioFrontEnd.sampleRate / 2)
  let melMax = slaneyMel(hertz: nyquist)
  let edges = (0..<(melBins + 2)).map {
    slaneyHertz(mel: melMax * Double($0) / Double(melBins + 1))
  }
  let binHertz = (0..<bins).map { nyquist * Double($0) / Double(bins - 1) }
  var filters = [Float](repeating: 0, count: melBins * bins)
  for j in 0..<melBins {
    let (lower, center, upper) = (edges[j], edges[j + 1], edges[j + 2])
    let norm = 2 / (upper - lower)
    for k in 0..<bins {
      let rising = (binHertz[k] - lower) / (center - lower)
      let falling = (upper - binHertz[k]) / (upper - center)
      filters[j * bins + k] = Float(max(0, min(rising, falling)) * norm)
    }
  }
  return filters
}

/// Slaney's mel scale: linear below 1 kHz (3 mels per 200 Hz), logarithmic above.
private let slaneyLinearHertz = 1000.0
private let slaneyLinearMels = 15.0
private let slaneyLogStep = 27.0 / log(6.4)

func slaneyMel(hertz: Double) -> Double {
  hertz < slaneyLinearHertz
    ? 3 * hertz / 200 : slaneyLinearMels + log(hertz / slaneyLinearHertz) * slaneyLogStep
}

func slaneyHertz(mel: Double) -> Double {
  mel < slaneyLinearMels
    ? 200 * mel / 3 : slaneyLinearHertz * exp((mel - slaneyLinearMels) / slaneyLogStep)
}

/// Raw pointers handed to `concurrentPerform` workers that write disjoint rows.
struct SendablePointer: @unchecked Sendable {
  let pointer: UnsafeMutablePointer<Float>
  init(_ pointer: UnsafeMutablePointer<Float>) { self.pointer = pointer }
}

struct SendableConstPointer: @unchecked Sendable {
  let pointer: UnsafePointer<Float>
  init(_ pointer: UnsafePointer<Float>) { self.pointer = pointer }
}
