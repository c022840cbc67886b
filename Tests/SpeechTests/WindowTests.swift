import Core
import Foundation
import Speech
import Testing

@Test func floorDivisionRoundsTowardMinusInfinity() {
  #expect(floorDivision(-1, 2) == -1)
  #expect(floorDivision(-2, 2) == -1)
  #expect(floorDivision(-3, 2) == -2)
  #expect(floorDivision(0, 2) == 0)
  #expect(floorDivision(7, 2) == 3)
}

/// Spec 7.11: per-window valid frames, which catch truncating division.
@Test func validFrameCountsFollowSpecSection4() throws {
  let qwen = try SpeechEncoder(directory: Fixtures.model("qwen2audio-tiny"))
  // m = ceil(n / 160), a = floor((m - 1) / 2) + 1, b = floor((a - 2) / 2) + 1; e.g. 800 -> 5 -> 3 -> 1.
  let expected = [480_000: 750, 240_000: 375, 1: 0, 160: 0, 480: 1, 0: 0, 161: 0, 640: 1, 800: 1, 1120: 2]
  for (samples, frames) in expected {
    #expect(qwen.validFrames(samples: samples) == frames, "\(samples) samples")
  }
  // Whisper has no pooling: 50 frames per second, and one mel frame gives one encoder frame.
  let whisper = try SpeechEncoder(directory: Fixtures.model("whisper-tiny"))
  for (samples, frames) in [480_000: 1500, 240_000: 750, 1: 1, 160: 1, 320: 1, 480: 2, 0: 0] {
    #expect(whisper.validFrames(samples: samples) == frames, "\(samples) samples")
  }
}

/// 90 s of audio is three full windows, 2250 frames; an extra sample opens a fourth window that
/// adds no frame; every window is encoded alone.
@Test func ninetySecondsGive2250Frames() throws {
  let encoder = try SpeechEncoder(directory: Fixtures.model("qwen2audio-tiny"))
  var seen: [(Int, Int, Int)] = []
  let stream = LongSpeechEncoder(encoder: encoder) { seen.append(($0.index, $0.firstFrame, $0.frames.shape[0])) }
  let second = [Float](repeating: 0, count: AudioFrontEnd.sampleRate)
  for _ in 0..<(3 * AudioFrontEnd.windowSeconds) { try stream.append(second) }
  try stream.append([0.5])
  let joined = try stream.finish()
  #expect(joined.frames.shape == [2250, 20])
  #expect(joined.windowCount == 4)
  #expect(joined.sampleCount == 1_440_001)
  #expect(seen.map(\.0) == [0, 1, 2, 3] && seen.map(\.1) == [0, 750, 1500, 2250] && seen.map(\.2) == [750, 750, 750, 0])
}

/// Feeding the 37 s waveform in odd chunks gives the reference frames of every window, joined.
@Test func streamedWindowsJoinTheReferenceFrames() throws {
  let encoder = try SpeechEncoder(directory: Fixtures.model("qwen2audio-tiny"))
  let samples = try Fixtures.waveform()
  var ends: [Double] = []
  let stream = LongSpeechEncoder(encoder: encoder) { ends.append($0.endSeconds) }
  var offset = 0
  var chunk = 1
  while offset < samples.count {
    let end = min(offset + chunk, samples.count)
    try stream.append(Array(samples[offset..<end]))
    offset = end
    chunk = chunk * 7 + 13  // 1, 20, 153, ... up to several windows' worth
  }
  let joined = try stream.finish()
  let reference = try Fixtures.reference("qwen2audio_encoder")
  let expected = Tensor.concatenate([try reference.tensor("pooled_window0"), try reference.tensor("pooled_window1")])
  #expect(joined.frames.shape == [925, 20])
  expectClose(joined.frames, expected, tolerance: 1e-4, "joined frames")
  #expect(joined.windowCount == 2 && joined.framesPerSecond == 25)
  #expect(ends == [30, Double(samples.count) / Double(AudioFrontEnd.sampleRate)])
}

@Test func emptyAudioGivesNoFrames() throws {
  let encoder = try SpeechEncoder(directory: Fixtures.model("whisper-tiny"))
  let joined = try LongSpeechEncoder(encoder: encoder).finish()
  #expect(joined.frames.shape == [0, 24] && joined.windowCount == 0)
}

@Test func errorsFromTheWindowCallbackStopTheStream() throws {
  struct Stop: Error {}
  let encoder = try SpeechEncoder(directory: Fixtures.model("whisper-tiny"))
  let stream = LongSpeechEncoder(encoder: encoder) { _ in throw Stop() }
  #expect(throws: Stop.self) { try stream.append([Float](repeating: 0.1, count: 100)); _ = try stream.finish() }
}
