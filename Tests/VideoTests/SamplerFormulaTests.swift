import Foundation
import Media
import Testing
import Video

// The published index formulas against indices computed by the formulas themselves (numpy 2.4,
// torch 2.13; fixtures/gen_video.py writes samplers.json). Exact equality: these are integers.
// Each case runs through FrameSampling.select on a constant-rate index of N frames, so the
// window and offset handling is exercised too.

private struct CountCase: Decodable, Sendable, CustomTestStringConvertible {
  let frameCount: Int
  let requested: Int
  let hf: [Int]?
  let qwen: [Int]?
  let vila: [Int]
  let llava: [Int]
  let qwenFloat64Differs: Int
  var testDescription: String { "N=\(frameCount) n=\(requested)" }

  enum CodingKeys: String, CodingKey {
    case frameCount = "frame_count", requested, hf, qwen, vila, llava
    case qwenFloat64Differs = "qwen_float64_differs"
  }
}

private struct RateCase: Decodable, Sendable, CustomTestStringConvertible {
  let frameCount: Int
  let videoFPS: Double
  let fps: Double
  let maxFrames: Int?
  let hf: [Int]?
  let qwen: [Int]?
  let llava: [Int]?
  var testDescription: String { "N=\(frameCount) at \(videoFPS) fps, \(fps) fps, max \(maxFrames.map(String.init) ?? "-")" }

  enum CodingKeys: String, CodingKey {
    case frameCount = "frame_count", videoFPS = "video_fps", fps, maxFrames = "max_frames", hf, qwen, llava
  }
}

private struct SamplerGoldens: Decodable {
  let count: [CountCase]
  let fps: [RateCase]
}

private let goldens = try! Fixtures.json("samplers.json", as: SamplerGoldens.self)

/// Frame rate of the synthetic index; the count forms do not depend on it.
private let indexRate = 25

/// The selected positions, or nil when selection throws ``SamplingError/cannotSample``.
private func select(_ sampling: FrameSampling, frames: Int, videoFPS: Double) throws -> [Int]? {
  let index = syntheticIndex(frames: frames, rate: indexRate)
  do {
    return try sampling.select(from: index, videoFPS: videoFPS, path: "synthetic").positions
  } catch SamplingError.cannotSample {
    return nil
  }
}

@Test(arguments: goldens.count)
private func countFormulasMatchTheirReferenceCode(_ golden: CountCase) throws {
  let expected: [(SamplerFormula, [Int]?)] = [
    (.hf, golden.hf), (.qwen, golden.qwen), (.vila, golden.vila), (.llava, golden.llava),
  ]
  for (formula, indices) in expected {
    let sampling = FrameSampling(formula: formula, budget: .count(golden.requested))
    let positions = try select(sampling, frames: golden.frameCount, videoFPS: Double(indexRate))
    #expect(positions == indices, "\(formula) N=\(golden.frameCount) n=\(golden.requested): first difference at \(firstDifference(positions, indices).map(String.init) ?? "length")")
  }
}

@Test(arguments: goldens.fps)
private func rateFormulasMatchTheirReferenceCode(_ golden: RateCase) throws {
  let expected: [(SamplerFormula, [Int]?)] = [(.hf, golden.hf), (.qwen, golden.qwen), (.llava, golden.llava)]
  for (formula, indices) in expected {
    let sampling = FrameSampling(formula: formula, budget: .fps(golden.fps), maxFrames: golden.maxFrames)
    let positions = try select(sampling, frames: golden.frameCount, videoFPS: golden.videoFPS)
    #expect(positions == indices, "\(formula): first difference at \(firstDifference(positions, indices).map(String.init) ?? "length")")
  }
}

@Test func theHourLongCasesAreOnesWhereFloatWidthMatters() {
  // The reason the qwen port computes in float32: float64 would pick other frames here.
  for frames in [216_000, 108_000] {
    let golden = goldens.count.first { $0.frameCount == frames && $0.requested == 3600 }
    #expect((golden?.qwenFloat64Differs ?? 0) > 0, "N=\(frames)")
  }
}

@Test func hfKeepsNumpysIntegerArangeQuirk() throws {
  // np.arange(0, 300, 37.5, dtype=int) repeats int(37.5) = 37: not the 0, 37, 75, ... of
  // int(i * 37.5) that transformers' spec table shows.
  let positions = try select(FrameSampling(formula: .hf, budget: .count(8)), frames: 300, videoFPS: 25)
  #expect(positions == [0, 37, 74, 111, 148, 185, 222, 259])
}

@Test func qwenRoundsTheCountHalfToEven() throws {
  // round(5 / 2) = 2 in Python, so 5 frames become 4; round(7 / 2) = 4, so 7 become 8.
  #expect(try select(FrameSampling(formula: .qwen, budget: .count(5)), frames: 300, videoFPS: 25)?.count == 4)
  #expect(try select(FrameSampling(formula: .qwen, budget: .count(7)), frames: 300, videoFPS: 25)?.count == 8)
}

private func firstDifference(_ a: [Int]?, _ b: [Int]?) -> Int? {
  guard let a, let b, a.count == b.count else { return nil }
  return zip(a, b).enumerated().first { $0.element.0 != $0.element.1 }?.offset
}
