import Foundation
import Media
import Testing
import Video

// mmencode's time-based rules (uniform instants at segment centres, fps ticks, [start, end)
// windows) against an independent numpy evaluation of the documented rule on synthetic
// timelines (fixtures/gen_video.py writes timeline.json). Exact: positions are integers.

private struct Timelines: Decodable {
  struct Line: Decodable {
    let timeBase: [Int]
    let pts: [Int64]
    enum CodingKeys: String, CodingKey { case timeBase = "time_base", pts }
  }
  struct Case: Decodable, Sendable, CustomTestStringConvertible {
    let timeline: String
    let start: Double?
    let end: Double?
    let frames: Int?
    let fps: Double?
    let positions: [Int]
    var testDescription: String {
      "\(timeline) [\(start.map { "\($0)" } ?? "-"), \(end.map { "\($0)" } ?? "-")) "
        + (frames.map { "\($0) frames" } ?? fps.map { "\($0) fps" } ?? "")
    }
  }
  let timelines: [String: Line]
  let cases: [Case]
}

private let document = try! Fixtures.json("timeline.json", as: Timelines.self)

@Test(arguments: document.cases)
private func timeBasedSelectionMatchesTheDocumentedRule(_ golden: Timelines.Case) throws {
  let line = try #require(document.timelines[golden.timeline])
  let index = FrameIndex(
    timeBase: Rational(line.timeBase[0], line.timeBase[1]), pts: line.pts, keyframes: [0], source: .packets,
    end: .endOfFile)
  let budget: FrameBudget = golden.frames.map { .count($0) } ?? .fps(golden.fps!)
  let sampling = FrameSampling(formula: .uniform, budget: budget, start: golden.start, end: golden.end)
  let selection = try sampling.select(from: index, videoFPS: 25, path: golden.timeline)
  #expect(selection.positions == golden.positions)
}

@Test func maxFramesTurnsTooManyTicksIntoUniformSampling() throws {
  let index = syntheticIndex(frames: 250, rate: 25)  // 10 s
  let ticks = try FrameSampling(formula: .uniform, budget: .fps(2)).select(from: index, videoFPS: 25, path: "x")
  #expect(ticks.positions.count == 20)
  #expect(!ticks.capped)
  let capped = try FrameSampling(formula: .uniform, budget: .fps(2), maxFrames: 4).select(from: index, videoFPS: 25, path: "x")
  let uniform = try FrameSampling(formula: .uniform, budget: .count(4)).select(from: index, videoFPS: 25, path: "x")
  #expect(capped.positions == uniform.positions)
  #expect(capped.capped)
  // 10 s in four parts: centres at 1.25, 3.75, 6.25 and 8.75 s, i.e. frames 31, 93, 156, 218.
  #expect(uniform.positions == [31, 93, 156, 218])
}

@Test func anEmptyWindowIsAnErrorNamingTheFile() throws {
  let index = syntheticIndex(frames: 50, rate: 25)  // 2 s
  #expect(throws: SamplingError.self) {
    try FrameSampling(formula: .uniform, budget: .count(3), start: 5).select(from: index, videoFPS: 25, path: "clip.mp4")
  }
  do {
    _ = try FrameSampling(formula: .hf, budget: .count(3), start: 5).select(from: index, videoFPS: 25, path: "clip.mp4")
  } catch {
    #expect(error.localizedDescription.hasPrefix("clip.mp4: "))
  }
}

@Test func unusableSettingsAreRefusedBeforeAnyVideo() {
  let bad = [
    FrameSampling(formula: .uniform, budget: .count(0)),
    FrameSampling(formula: .uniform, budget: .fps(0)),
    FrameSampling(formula: .uniform, budget: .fps(.nan)),
    FrameSampling(formula: .vila, budget: .fps(1)),
    FrameSampling(formula: .uniform, budget: .count(3), start: 2, end: 1),
    FrameSampling(formula: .uniform, budget: .count(3), maxFrames: 0),
  ]
  for sampling in bad {
    #expect(throws: SamplingError.self, "\(sampling)") { try sampling.validate() }
  }
}
