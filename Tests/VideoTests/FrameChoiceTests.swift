import Foundation
import Media
import TestSupport
import Testing
import Video

// Requested times decode to the right frames on real files: make_media.sh's videos draw their own
// frame number, so each chosen frame is checked by its content, and the expected frame for each
// instant comes from the timing make_media.sh gave the file, not from the index.

/// The 60-frame, 25 fps numbered fixtures (see make_media.sh).
private let constantRateVideos = [
  "h264_bframes.mp4", "start_offset.mp4", "odd_67x39.webm", "mpeg4.mp4", "vp9.webm", "mjpeg.avi", "hevc_bt709.mp4",
  "ffv1.mkv", "mpeg2.ts", "av1_10bit.mkv", "mpeg4_bframes.avi", "overreported.avi",
]
private let frameRate = 25.0

/// vfr.mkv: frames 0-19 are 40 ms apart, 20-39 100 ms from 0.8 s, 40-59 20 ms from 2.8 s.
private func vfrFrameTime(_ frame: Int) -> Double {
  frame < 20 ? Double(frame) * 0.04 : frame < 40 ? 0.8 + Double(frame - 20) * 0.1 : 2.8 + Double(frame - 40) * 0.02
}

private func expectFramesShowThemselves(_ path: String, _ positions: [Int]) throws {
  let reader = try VideoReader(path: path)
  for position in positions {
    #expect(drawnFrameNumber(try reader.frame(at: position).image) == position, "\(path) frame \(position)")
  }
}

@Test(arguments: constantRateVideos)
func uniformSamplingTakesTheFrameOnScreenAtEachCentre(name: String) throws {
  let path = Fixtures.media(name)
  let index = try VideoReader(path: path).index
  // 60 frames = 2.4 s from the first frame (at 0, 2 s, 1.44 s, ... depending on the file) in
  // 4 parts: centres 0.3, 0.9, 1.5, 2.1 s in, i.e. halfway through frames 7, 22, 37 and 52.
  let selection = try FrameSampling(formula: .uniform, budget: .count(4)).select(from: index, videoFPS: frameRate, path: path)
  #expect(selection.positions == [7, 22, 37, 52])
  #expect(selection.windowStart == index.seconds(at: 0))
  #expect(abs(selection.windowEnd - selection.windowStart - 2.4) < 1e-6)
  try expectFramesShowThemselves(path, selection.positions)
}

@Test func fpsTicksOnAVariableRateVideoTakeTheFrameShownAtEachTick() throws {
  let path = Fixtures.media("vfr.mkv")
  let index = try VideoReader(path: path).index
  let selection = try FrameSampling(formula: .uniform, budget: .fps(10)).select(from: index, videoFPS: frameRate, path: path)
  // The last frame starts at 3.18 s and lasts the median gap, 40 ms: ticks 0.0 ... 3.2 s.
  #expect(selection.positions.count == 33)
  for (k, position) in selection.positions.enumerated() {
    let tick = Double(k) / 10
    let shown = (0..<60).last { vfrFrameTime($0) <= tick + 1e-9 }!
    #expect(position == shown, "tick \(tick) s")
  }
  try expectFramesShowThemselves(path, Array(Set(selection.positions)).sorted())
}

@Test func windowsAreInStreamTime() throws {
  // start_offset.mp4's frames start at 2 s: [2.51, 3.0) at 10 fps is 2.51, 2.61, ..., 2.91 s,
  // frames 12, 15, 17, 20, 22 (frame k starts at 2 + k / 25 s).
  let path = Fixtures.media("start_offset.mp4")
  let index = try VideoReader(path: path).index
  let sampling = FrameSampling(formula: .uniform, budget: .fps(10), start: 2.51, end: 3.0)
  let selection = try sampling.select(from: index, videoFPS: frameRate, path: path)
  #expect(selection.positions == [12, 15, 17, 20, 22])
  try expectFramesShowThemselves(path, selection.positions)
}

@Test func indexFormulasCountIndexedFramesNotTheContainersClaim() throws {
  // overreported.avi's header says 999 frames; 60 can be read.
  let path = Fixtures.media("overreported.avi")
  let reader = try VideoReader(path: path)
  #expect(reader.stream.containerFrameCount == 999)
  let selection = try FrameSampling(formula: .vila, budget: .count(4)).select(from: reader.index, videoFPS: frameRate, path: path)
  #expect(selection.windowFrameCount == 60)
  #expect(selection.positions == [0, 19, 39, 59])
  try expectFramesShowThemselves(path, selection.positions)
}

@Test func thePipelineReportsTheChosenFramesTimes() throws {
  let path = Fixtures.media("vfr.mkv")
  let sampling = FrameSampling(formula: .qwen, budget: .count(6))
  let result = try VideoEmbedder(modelDirectory: Fixtures.model).embed(path: path, sampling: sampling)
  // torch.linspace(0, 59, 6).round(): 0, 11.8, 23.6, 35.4, 47.2, 59.
  #expect(result.frameIndex == [0, 12, 24, 35, 47, 59])
  for (row, frame) in result.frameIndex.enumerated() {
    #expect(abs(result.timestamps[row] - vfrFrameTime(Int(frame))) < 1e-9)
    #expect(result.pts[row] == Int64((vfrFrameTime(Int(frame)) * 1000).rounded()))  // 1 ms time base
  }
  #expect(result.timeBase == Rational(1, 1000))
  #expect(result.embeddings.shape == [6, 24])
}
