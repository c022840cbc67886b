import Core
import Foundation
import Speech
import TestSupport
import Testing

/// Writes `seconds` of a deterministic 22.05 kHz 16-bit mono WAV (a slow sweep plus noise) to `path`,
/// so decoding also resamples.
private func writeSweep(seconds: Int, to path: String) throws {
  let rate = 22_050
  let count = seconds * rate
  var data = Data()
  func append<T: FixedWidthInteger>(_ value: T) { withUnsafeBytes(of: value.littleEndian) { data.append(contentsOf: $0) } }
  data.append(contentsOf: Array("RIFF".utf8))
  append(UInt32(36 + 2 * count))
  data.append(contentsOf: Array("WAVEfmt ".utf8))
  append(UInt32(16))
  append(UInt16(1))  // PCM
  append(UInt16(1))  // mono
  append(UInt32(rate))
  append(UInt32(2 * rate))
  append(UInt16(2))
  append(UInt16(16))
  data.append(contentsOf: Array("data".utf8))
  append(UInt32(2 * count))
  var state: UInt32 = 1
  data.reserveCapacity(data.count + 2 * count)
  for i in 0..<count {
    state = state &* 1_664_525 &+ 1_013_904_223
    let t = Double(i) / Double(rate)
    let noise = Double(state >> 8) / Double(1 << 24) - 0.5
    let value = 0.4 * sin(2 * .pi * (150 + 10 * t) * t) + 0.05 * noise
    append(Int16(value * 32_000))
  }
  try data.write(to: URL(fileURLWithPath: path))
}

/// Three minutes stream through with no more than one window plus one read chunk of samples in
/// memory: if the file were read whole first, the high-water mark would be the 2.88 million
/// samples of the file.
@Test func threeMinutesStreamWithBoundedSampleBuffers() throws {
  let directory = try makeTemporaryDirectory()
  defer { try? FileManager.default.removeItem(at: directory) }
  let file = directory.appendingPathComponent("sweep.wav").path
  try writeSweep(seconds: 180, to: file)
  let encoder = try SpeechEncoder(directory: Fixtures.model("qwen2audio-tiny"))
  let reports = ReportLog()
  let speech = try encoder.encode(file: file, progress: reports.handler)

  #expect(speech.sampleCount == 180 * AudioFrontEnd.sampleRate)
  #expect(speech.windowCount == 6)
  #expect(speech.frames.shape == [6 * 750, 20])
  let bound = AudioFrontEnd.samplesPerWindow + SpeechEncoder.fileChunkSamples
  #expect(speech.peakBufferedSamples <= bound, "held \(speech.peakBufferedSamples) samples at once")
  #expect(speech.peakBufferedSamples >= AudioFrontEnd.samplesPerWindow, "a full window is buffered before encoding")
  // The WAV header gives the duration, so the total is known from the start.
  #expect(reports.all.map(\.completed) == Array(0...6))
  #expect(reports.all.allSatisfy { $0.total == 6 && $0.unit == "windows" && $0.item == file })
}

/// Progress reports collected from any thread.
final class ReportLog: @unchecked Sendable {
  private let lock = NSLock()
  private var reports: [ProgressReport] = []

  var handler: ProgressHandler {
    { [self] report in
      lock.lock()
      reports.append(report)
      lock.unlock()
    }
  }

  var all: [ProgressReport] {
    lock.lock()
    defer { lock.unlock() }
    return reports
  }
}
