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
/// the window holds; the reference drops it, so it is not computed here.
public struct LogMelSpectrogram: Sendable {
  /// Number of mel bins (rows of the output).
  public let melBins: Int
  /// The triangular filters, sparse: filter `j` weighs bins `filterStart[j]..<filterStart[j] +
  /// filterCount[j]` by `filterWeights[filterOffset[j]...]`. Each FFT bin feeds at most two
  /// filters, so this is 40 (80 bins) to 64 (128 bins) times less work than the dense product.
  private let filterStart: [Int]
  private let filterCount: [Int]
  private let filterOffset: [Int]
  private let filterWeights: [Float]
  /// Periodic Hann window of `fftSize` points.
  private let window: [Float]
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
    let dense = slaneyMelFilters(melBins: melBins)
    let bins = AudioFrontEnd.frequencyBins
    var (start, count, offset, weights) = ([Int](), [Int](), [Int](), [Float]())
    for j in 0..<melBins {
      let row = Array(dense[(j * bins)..<((j + 1) * bins)])
      // An all-zero filter (too many bins for the spectrum) stays empty, as its row is in HF.
      let first = row.firstIndex { $0 != 0 } ?? 0
      let end = (row.lastIndex { $0 != 0 } ?? -1) + 1
      start.append(first)
      count.append(max(0, end - first))
      offset.append(weights.count)
      weights += row[first..<max(first, end)]
    }
    (filterStart, filterCount, filterOffset, filterWeights) = (start, count, offset, weights)
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
    typealias Lanes = RealPowerSpectrum.Lanes
    let lanes = RealPowerSpectrum.laneCount
    let frameCount = AudioFrontEnd.melFramesPerWindow
    let (fftSize, hop) = (AudioFrontEnd.fftSize, AudioFrontEnd.hopLength)
    let padded = reflectPadded(samples)
    let groups = ceilDivision(frameCount, lanes)
    // Each range's maximum, at the index of its first group (ranges start at distinct groups).
    // A running maximum per range measured ~8% faster than one per group.
    var rangeMaxima = [Float](repeating: -.infinity, count: groups)
    var mel = Tensor(uninitializedShape: [melBins, frameCount]) { out in
      padded.withUnsafeBufferPointer { signal in
        rangeMaxima.withUnsafeMutableBufferPointer { maxima in
          // A group is `lanes` FFTs, worth a task on its own.
          Threads.parallelFor(groups) { range in
            let (signal, out) = (signal.baseAddress!, out.baseAddress!)
            // Scratch per range: there are only a few ranges per worker.
            var work = RealPowerSpectrum.Work(transform)
            var frames = [Lanes](repeating: .zero, count: fftSize)
            var power = [Lanes](repeating: .zero, count: transform.bins)
            // Lanes past the last frame repeat it, so they never raise the maximum.
            var maximum = Lanes(repeating: -.infinity)
            window.withUnsafeBufferPointer { window in
              filterWeights.withUnsafeBufferPointer { weights in
                for group in range {
                  let first = group * lanes
                  let used = min(lanes, frameCount - first)
                  // frames[i][l] = window[i] * sample i of frame first + l (lanes past the end
                  // repeat the last frame and are not stored).
                  frames.withUnsafeMutableBytes { raw in
                    let f = raw.baseAddress!.assumingMemoryBound(to: Float.self)
                    for lane in 0..<lanes {
                      let src = signal + (first + min(lane, used - 1)) * hop
                      var dst = f + lane
                      for i in 0..<fftSize {
                        dst.pointee = src[i] * window[i]
                        dst += lanes
                      }
                    }
                  }
                  power.withUnsafeMutableBufferPointer { power in
                    transform.compute(frames, into: power.baseAddress!, work: &work)
                    let floor = Lanes(repeating: Self.melFloor)
                    for j in 0..<melBins {
                      var energy = Lanes.zero
                      let bins = power.baseAddress! + filterStart[j]
                      let w = weights.baseAddress! + filterOffset[j]
                      for k in 0..<filterCount[j] { energy += w[k] * bins[k] }
                      let logged = fastLog10(pointwiseMax(energy, floor))
                      maximum = pointwiseMax(maximum, logged)
                      let row = out + j * frameCount + first
                      if used == lanes {
                        UnsafeMutableRawPointer(row).storeBytes(of: logged, as: Lanes.self)
                      } else {
                        for lane in 0..<used { row[lane] = logged[lane] }
                      }
                    }
                  }
                }
              }
            }
            maxima[range.lowerBound] = maximum.max()
          }
        }
      }
    }
    let floor = rangeMaxima.max()! - Self.dynamicRangeDecades
    mel.scalars.withUnsafeMutableBufferPointer { m in
      for i in 0..<m.count { m[i] = (max(m[i], floor) + Self.offset) / Self.scale }
    }
    return mel
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

/// `log10(x)` of positive, finite, normal `x` in every lane, within 2e-6 (two Float ulps at the
/// largest results) of the exact value for the inputs log-mel sees (1e-10 and up; the features
/// tolerate 1e-4).
///
/// `x = m 2^e` with `m` in `[sqrt(1/2), sqrt(2))`, split in integer arithmetic on the bits (no
/// per-lane branches), so `e` is exact; then `ln m = 2 atanh(f)`, `f = (m - 1) / (m + 1)`,
/// `|f| < 0.172`, by its odd series to `f^9` (next term < 1e-8); `log10 x = (e + log2 m) log10 2`.
@inline(__always) package func fastLog10(_ x: RealPowerSpectrum.Lanes) -> RealPowerSpectrum.Lanes {
  typealias Lanes = RealPowerSpectrum.Lanes
  typealias Bits = SIMD8<Int32>
  let sqrtHalfBits = Int32(bitPattern: Float(0.5).squareRoot().bitPattern)
  let bits = unsafeBitCast(x, to: Bits.self)
  let exponent = (bits &- sqrtHalfBits) &>> 23
  let m = unsafeBitCast(bits &- (exponent &<< 23), to: Lanes.self)
  let f = (m - 1) / (m + 1)
  let f2 = f * f
  var series = Lanes(repeating: 1 / 9)
  for coefficient: Float in [1 / 7, 1 / 5, 1 / 3, 1] { series = coefficient + f2 * series }
  let log2m = f * series * Float(2 / M_LN2)
  return (Lanes(exponent) + log2m) * Float(M_LN2 / M_LN10)
}
