import Foundation
import Media
import TestSupport
import Testing

/// make_media.sh's vfr.mkv: frames 0-19 are 40 ms apart, 20-39 100 ms, 40-59 20 ms.
private func vfrSeconds(_ n: Int) -> Double {
  n < 20 ? Double(n) * 0.04 : n < 40 ? 0.8 + Double(n - 20) * 0.1 : 2.8 + Double(n - 40) * 0.02
}

@Test func variableFrameRateTimestampsAreThePresentationTimes() throws {
  let reader = try VideoReader(path: Fixtures.media("vfr.mkv"))
  #expect(reader.index.isVariableFrameRate)
  #expect(reader.stream.isVariableFrameRate == true)
  for position in [0, 19, 20, 21, 39, 40, 41, 59] {
    let frame = try reader.frame(at: position)
    #expect(drawnFrameNumber(frame.image) == position)
    // The 1 ms time base holds these times exactly.
    #expect(abs(frame.seconds - vfrSeconds(position)) < 1e-9, "frame \(position) at \(frame.seconds) s")
  }
  // Played-at lookups land in the right interval of each segment.
  #expect(reader.index.position(playedAt: 0.85) == 20)
  #expect(reader.index.position(playedAt: 0.899) == 20)
  #expect(reader.index.position(playedAt: 0.9) == 21)
  #expect(reader.index.position(playedAt: 2.81) == 40)
  #expect(drawnFrameNumber(try reader.frame(playedAt: 1.95).image) == 31)
}

@Test(arguments: ["h264_bframes.mp4", "mjpeg.avi", "vp9.webm", "mpeg4_bframes.avi"])
func constantFrameRateIsNotReportedVariable(name: String) throws {
  let reader = try VideoReader(path: Fixtures.media(name))
  #expect(!reader.index.isVariableFrameRate)
  let durations = try #require(reader.index.frameDurations)
  #expect(durations.min == durations.max)
}

@Test func nonZeroStartTimeIsKeptInTimestamps() throws {
  // Shifted by -output_ts_offset 2: frame n is shown at 2 + n / 25 s.
  let reader = try VideoReader(path: Fixtures.media("start_offset.mp4"))
  #expect(abs((reader.stream.startTime ?? 0) - 2) < 1e-9)
  for position in [0, 7, 59] {
    let frame = try reader.frame(at: position)
    #expect(drawnFrameNumber(frame.image) == position)
    #expect(abs(frame.seconds - (2 + Double(position) / 25)) < 1e-9)
  }
  #expect(drawnFrameNumber(try reader.frame(playedAt: 2.5).image) == 12)
  #expect(throws: MediaError.self) { try reader.frame(playedAt: 1.9) }
}

@Test func transportStreamStartsAtItsMuxerOffset() throws {
  // mpegts starts timestamps at 1.44 s (90 kHz clock); frames are 3600 ticks apart.
  let reader = try VideoReader(path: Fixtures.media("mpeg2.ts"))
  #expect(reader.index.timeBase == Rational(1, 90000))
  #expect(reader.index.pts.first == 129_600)
  #expect(zip(reader.index.pts.dropFirst(), reader.index.pts).allSatisfy { $0 - $1 == 3600 })
  let frame = try reader.frame(pts: 129_600 + 30 * 3600)
  #expect(drawnFrameNumber(frame.image) == 30)
}

@Test func requestsOutsideTheStreamAreTypedErrors() throws {
  let reader = try VideoReader(path: Fixtures.media("h264_bframes.mp4"))
  #expect(throws: MediaError.self) { try reader.frame(at: 60) }
  #expect(throws: MediaError.self) { try reader.frame(at: -1) }
  #expect(throws: MediaError.self) { try reader.frame(pts: 1) }  // between frames (512 ticks apart)
  #expect(throws: MediaError.self) { try reader.frame(playedAt: 2.4) }
  #expect(throws: MediaError.self) { try reader.frame(playedAt: .nan) }
  #expect(throws: MediaError.self) { try reader.frame(playedAt: 1e30) }
  #expect(throws: MediaError.self) { try reader.frame(playedAt: -.infinity) }
  // The reader still works after refusing requests.
  #expect(drawnFrameNumber(try reader.frame(at: 59).image) == 59)
}
