import Foundation
import Speech
import TestSupport
import Testing

/// The mixed-radix real FFT against a direct DFT in Double, at Whisper's 400 points and at lengths
/// that exercise every butterfly (radix 2, 3, 4, 5 and the generic prime one). Tolerance: 2e-5
/// relative to the frame's energy, a few Float roundings per stage.
@Test(arguments: [400, 16, 6, 10, 42, 22, 2])
func powerSpectrumMatchesDirectDFT(length: Int) {
  let transform = RealPowerSpectrum(length: length)
  let lanes = RealPowerSpectrum.laneCount
  var rng = SeededGenerator(seed: UInt64(length))
  let frames = (0..<lanes).map { _ in (0..<length).map { _ in rng.float() } }
  let input = (0..<length).map { i in RealPowerSpectrum.Lanes((0..<lanes).map { frames[$0][i] }) }
  var output = [RealPowerSpectrum.Lanes](repeating: .zero, count: transform.bins)
  var work = RealPowerSpectrum.Work(transform)
  input.withUnsafeBufferPointer { input in
    output.withUnsafeMutableBufferPointer { output in
      transform.compute(input.baseAddress!, into: output.baseAddress!, work: &work)
    }
  }
  for (lane, frame) in frames.enumerated() {
    let energy = frame.reduce(0) { $0 + Double($1 * $1) } * Double(length)
    for k in 0..<transform.bins {
      var (re, im) = (0.0, 0.0)
      for (n, v) in frame.enumerated() {
        let angle = -2 * Double.pi * Double(k * n) / Double(length)
        re += Double(v) * cos(angle)
        im += Double(v) * sin(angle)
      }
      let got = Double(output[k][lane])
      #expect(abs(got - (re * re + im * im)) <= 2e-5 * energy, "length \(length) lane \(lane) bin \(k)")
    }
  }
}

/// The vector log10 behind log-mel against Double log10, from the mel floor (1e-10) up through
/// the range of power spectra. Tolerance 2e-6 absolute: about two Float ulps at |log10| near 10
/// (one ulp there is 9.5e-7), and 200 times under the 1e-4 log-mel bound (in units of log10 / 4).
@Test func fastLog10MatchesLibm() {
  var worst = 0.0
  var rng = SeededGenerator(seed: 12)
  for decade in -10..<12 {
    for _ in 0..<64 {
      let values = (0..<RealPowerSpectrum.laneCount).map { _ in
        Float(pow(10, Double(decade) + Double(rng.float() + 1) / 2))
      }
      let result = fastLog10(RealPowerSpectrum.Lanes(values))
      for (lane, v) in values.enumerated() { worst = max(worst, abs(Double(result[lane]) - log10(Double(v)))) }
    }
  }
  for exact: Float in [1, 2, 10, 0.5, Float(0.5).squareRoot(), Float(2).squareRoot(), 1e-10] {
    let result = fastLog10(RealPowerSpectrum.Lanes(repeating: exact))
    worst = max(worst, abs(Double(result[0]) - log10(Double(exact))))
  }
  #expect(worst <= 2e-6, "max abs diff \(worst)")
}
