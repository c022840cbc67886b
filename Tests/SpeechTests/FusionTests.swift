import Core
import Foundation
import Speech
import TestSupport
import Testing

/// Spec section 7, items 1-9: the invariants of iterative fusion.

@Test func outputHasExactlyTargetLengthFrames() throws {
  var rng = SeededGenerator(seed: 1)
  let x = rng.tensor([50, 8])
  for target in [1, 2, 7, 25, 49] {
    let result = try fuse(x, targetLength: target)
    #expect(result.frames.shape == [target, 8], "L = \(target)")
    #expect(result.spans.count == target)
  }
}

@Test func shortInputComesBackBitIdenticalWithoutCallingDensity() throws {
  var rng = SeededGenerator(seed: 2)
  var x = rng.tensor([12, 8])
  x.scalars[3] = -0.0
  x.scalars[5] = .leastNonzeroMagnitude
  for target in [12, 13, 1000] {
    let spy = SpyDensity()
    let result = try fuse(x, targetLength: target, density: spy)
    #expect(result.frames.scalars.map(\.bitPattern) == x.scalars.map(\.bitPattern))
    #expect(result.frames.shape == x.shape)
    #expect(spy.calls.isEmpty)
    #expect(result.spans == (0..<12).map { FrameSpan(first: $0, last: $0) })
    #expect(result.passLengths.isEmpty)
  }
}

@Test func scheduleLengthsFollowEquation5() throws {
  #expect(try FusionSchedule.halving.lengths(from: 15000, to: 750) == [7500, 3750, 1875, 937, 750])
  #expect(try FusionSchedule.halving.lengths(from: 751, to: 750) == [750])
  #expect(try FusionSchedule.halving.lengths(from: 7, to: 3) == [3])
  #expect(try FusionSchedule.halving.lengths(from: 5, to: 1) == [2, 1])
  #expect(try FusionSchedule.halving.lengths(from: 1125, to: 750) == [750])
  #expect(try FusionSchedule.halving.lengths(from: 90_000, to: 750) == [45000, 22500, 11250, 5625, 2812, 1406, 750])
  #expect(try FusionSchedule.ladder.lengths(from: 750, to: 100) == [400, 200, 100])
  #expect(try FusionSchedule.ladder.lengths(from: 401, to: 400) == [400])
  #expect(try FusionSchedule.ladder.lengths(from: 300, to: 12) == [200, 100, 50, 25, 12])
  #expect(try FusionSchedule.ladder.lengths(from: 12, to: 12) == [])
  #expect(throws: SpeechError.targetNotOnLadder(target: 150, ladder: [400, 200, 100, 50, 25, 12])) {
    try FusionSchedule.ladder.lengths(from: 750, to: 150)
  }
  // The recorded pass lengths of a real run are the schedule's.
  var rng = SeededGenerator(seed: 3)
  let x = rng.tensor([750, 4])
  #expect(try fuse(x, targetLength: 100, schedule: .ladder).passLengths == [400, 200, 100])
  #expect(try fuse(x, targetLength: 100).passLengths == [375, 187, 100])
  #expect(throws: SpeechError.targetNotOnLadder(target: 150, ladder: FusionSchedule.ladderLengths)) {
    try fuse(x, targetLength: 150, schedule: .ladder)
  }
}

@Test func targetBelowOneIsAnError() throws {
  let x = Tensor(repeating: 1, shape: [4, 2])
  for target in [0, -3] {
    #expect(throws: SpeechError.invalidTargetLength(target)) { try fuse(x, targetLength: target) }
    #expect(throws: SpeechError.invalidTargetLength(target)) {
      try fuse(x, targetLength: target, schedule: .ladder)
    }
  }
  #expect(SpeechError.invalidTargetLength(0).errorDescription == "target length must be at least 1, got 0")
}

@Test func badFramesAreErrors() throws {
  #expect(throws: SpeechError.self) { try fuse(Tensor(repeating: 1, shape: [4]), targetLength: 2) }
  var x = Tensor(repeating: 1, shape: [4, 2])
  x.scalars[5] = .nan
  #expect(throws: SpeechError.invalidFrames(reason: "frame 2 has a non-finite value")) {
    try fuse(x, targetLength: 2)
  }
  x.scalars[5] = .infinity
  #expect(throws: SpeechError.self) { try fuse(x, targetLength: 2) }
  // Huge but finite frames are fine (their Float sums of squares overflow; Double takes over).
  let huge = Tensor(shape: [3, 2], scalars: [3e30, 1e30, 3e30, 1e30, -1e30, 2e30])
  let result = try fuse(huge, targetLength: 2)
  #expect(result.spans == [FrameSpan(first: 0, last: 1), FrameSpan(first: 2, last: 2)])
  // A NaN after a frame whose Float sums overflow is still caught before any ranking.
  let mixed = Tensor(shape: [3, 2], scalars: [3e30, 1e30, 1, 1, .nan, 2])
  #expect(throws: SpeechError.invalidFrames(reason: "frame 2 has a non-finite value")) {
    try fuse(mixed, targetLength: 2)
  }
  // Densities outside [0, 1] or of the wrong count are errors, not silent garbage.
  let negative = SpyDensity { [Float](repeating: -0.5, count: $0.shape[0]) }
  #expect(throws: SpeechError.self) { try fuse(Tensor(repeating: 1, shape: [4, 2]), targetLength: 2, density: negative) }
  let short = SpyDensity { _ in [1] }
  #expect(throws: SpeechError.self) { try fuse(Tensor(repeating: 1, shape: [4, 2]), targetLength: 2, density: short) }
}

@Test func everyPassYieldsContiguousOrderedGroups() throws {
  var rng = SeededGenerator(seed: 4)
  var x = rng.tensor([1001, 6])
  for next in try FusionSchedule.halving.lengths(from: 1001, to: 9) {
    let t = x.shape[0]
    let pass = try fusionPass(x, density: [Float](repeating: 1, count: t), nextLength: next)
    #expect(pass.starts.count == next && pass.frames.shape == [next, 6])
    #expect(pass.starts.first == 0)
    // Group ids rise by 0 or 1 per frame <=> group starts strictly increase inside 0..<T.
    #expect(zip(pass.starts, pass.starts.dropFirst()).allSatisfy { $0 < $1 } && pass.starts.last! < t)
    x = pass.frames
  }
  let result = try fuse(rng.tensor([1001, 6]), targetLength: 9)
  #expect(result.spans.first?.first == 0 && result.spans.last?.last == 1000)
  #expect(zip(result.spans, result.spans.dropFirst()).allSatisfy { $1.first == $0.last + 1 })
  #expect(result.spans.allSatisfy { $0.first <= $0.last })
}

/// Frames alternating between basis vectors (adjacent cosine 0), except chosen pairs where the
/// right frame is a positive multiple of the left (cosine 1).
private func framesWithSimilarPairs(_ pairs: Set<Int>, count: Int, scales: [Float]) -> Tensor {
  var rows: [[Float]] = []
  var axis = 0
  for i in 0..<count {
    if i > 0 && pairs.contains(i - 1) {
      rows.append(rows[i - 1].map { $0 * scales[i] })
    } else {
      axis = (axis + 1) % 8
      rows.append(basis(axis, 8, scale: scales[i]))
    }
  }
  return Tensor(shape: [count, 8], scalars: rows.flatMap { $0 })
}

@Test func mostSimilarPairsMerge() throws {
  let pairs: Set<Int> = [2, 7, 12]
  let unit = framesWithSimilarPairs(pairs, count: 16, scales: [Float](repeating: 1, count: 16))
  let pass = try fusionPass(unit, density: [Float](repeating: 1, count: 16), nextLength: 13)
  let joined = Set((1..<16).filter { !pass.starts.contains($0) }.map { $0 - 1 })
  #expect(joined == pairs)
  // Scaling frames by positive factors changes no pick.
  let scales: [Float] = (0..<16).map { 0.25 + Float($0 % 5) * 1.5 }
  let scaled = framesWithSimilarPairs(pairs, count: 16, scales: scales)
  #expect(try fusionPass(scaled, density: [Float](repeating: 1, count: 16), nextLength: 13).starts == pass.starts)
  // Three identical frames with r = 2 become one span.
  let triple = Tensor(shape: [5, 8], scalars: basis(0, 8) + basis(3, 8) + basis(3, 8) + basis(3, 8) + basis(5, 8))
  let merged = try fuse(triple, targetLength: 3)
  #expect(merged.spans == [FrameSpan(first: 0, last: 0), FrameSpan(first: 1, last: 3), FrameSpan(first: 4, last: 4)])
}

@Test func spansBecomeDensityWeightedMeans() throws {
  var rng = SeededGenerator(seed: 5)
  let x = rng.tensor([40, 8])
  let weights: [Float] = (0..<40).map { 0.05 + 0.9 * Float(($0 * 7) % 11) / 10 }
  let pass = try fusionPass(x, density: weights, nextLength: 17)
  for (k, first) in pass.starts.enumerated() {
    let end = k + 1 < pass.starts.count ? pass.starts[k + 1] : 40
    let total = (first..<end).reduce(Float(0)) { $0 + weights[$1] }
    for c in 0..<8 {
      let sum = (first..<end).reduce(Float(0)) { $0 + weights[$1] * x.scalars[$1 * 8 + c] }
      let members = (first..<end).map { x.scalars[$0 * 8 + c] }
      let value = pass.frames.scalars[k * 8 + c]
      #expect(abs(value - sum / (total + 1e-7)) <= 1e-6)
      // Between min and max, up to the 1e-7 term's pull toward zero (relative 1e-7 / Σd).
      let slack = 1e-7 / total * members.map(abs).max()! + 1e-6
      #expect(value >= members.min()! - slack && value <= members.max()! + slack, "group \(first)..<\(end)")
    }
  }
  // Equal densities give the plain mean. A singleton with d = 1 comes back as x / (1 + 1e-7);
  // in Float 1 + 1e-7 rounds to 1 + 2^-23, so the bound is 2^-23 relative plus the final rounding
  // (the spec's 1e-7 is a little under what fp32 can promise).
  let plain = try fusionPass(x, density: [Float](repeating: 1, count: 40), nextLength: 17)
  for (k, first) in plain.starts.enumerated() {
    let end = k + 1 < plain.starts.count ? plain.starts[k + 1] : 40
    for c in 0..<8 {
      let mean = (first..<end).reduce(Float(0)) { $0 + x.scalars[$1 * 8 + c] } / Float(end - first)
      let value = plain.frames.scalars[k * 8 + c]
      #expect(abs(value - mean) <= 1e-6)
      if end - first == 1 { #expect(abs(value - mean) <= Float.ulpOfOne * abs(mean) + mean.ulp / 2) }
    }
  }
}

@Test func densityIsRecomputedOnMergedFramesEveryPass() throws {
  var rng = SeededGenerator(seed: 6)
  let x = rng.tensor([100, 8])
  let spy = SpyDensity { frames in (0..<frames.shape[0]).map { 0.2 + 0.6 * Float($0 % 3) / 2 } }
  let result = try fuse(x, targetLength: 12, density: spy)
  #expect(result.passLengths == [50, 25, 12])
  #expect(spy.calls.map { $0.shape[0] } == [100, 50, 25])
  #expect(spy.calls[0] == x)
  // The second call sees exactly the first pass's output.
  let first = try fusionPass(x, density: (0..<100).map { 0.2 + 0.6 * Float($0 % 3) / 2 }, nextLength: 50)
  #expect(spy.calls[1] == first.frames)
}

@Test func zeroDensityFrameBecomesZeroAndMergesFirstWithoutNaN() throws {
  // Frame 2 is the only singleton with d = 0 after the first pass; then it has zero norm.
  let rows: [[Float]] = [basis(0, 8), basis(0, 8), basis(1, 8), basis(2, 8), basis(2, 8), basis(3, 8)]
  let x = Tensor(shape: [6, 8], scalars: rows.flatMap { $0 })
  let weights: [Float] = [1, 1, 0, 1, 1, 1]
  let pass = try fusionPass(x, density: weights, nextLength: 4)
  #expect(pass.starts == [0, 2, 3, 5])
  #expect(pass.frames[1].scalars == [Float](repeating: 0, count: 8))
  // Next pass: the zero frame's pairs (0,1) and (1,2) score +inf; with r = 1 the lower one wins.
  let next = try fusionPass(pass.frames, density: [1, 1, 1, 1], nextLength: 3)
  #expect(next.starts == [0, 2, 3])
  #expect(!next.frames.scalars.contains { $0.isNaN })
  // Through fuse(): a density that zeroes frame 2 still yields finite output.
  let spy = SpyDensity { frames in frames.shape[0] == 6 ? weights : [Float](repeating: 1, count: frames.shape[0]) }
  let result = try fuse(x, targetLength: 2, density: spy)
  #expect(result.frames.scalars.allSatisfy { $0.isFinite })
}

@Test func targetOneGivesTheWeightedMeanOfTheLastFrames() throws {
  var rng = SeededGenerator(seed: 7)
  let x = rng.tensor([9, 8])
  let spy = SpyDensity { frames in (0..<frames.shape[0]).map { 0.1 + 0.1 * Float($0) } }
  let result = try fuse(x, targetLength: 1, density: spy)
  #expect(result.passLengths == [4, 2, 1])
  #expect(result.spans == [FrameSpan(first: 0, last: 8)])
  let last = spy.calls[2]
  let weights: [Float] = [0.1, 0.2]
  for c in 0..<8 {
    let expected = (weights[0] * last.scalars[c] + weights[1] * last.scalars[8 + c]) / (0.3 + 1e-7)
    #expect(abs(result.frames.scalars[c] - expected) <= 1e-6)
  }
}

@Test func tiesGoToTheLowerIndexDeterministically() throws {
  let x = Tensor(shape: [10, 8], scalars: (0..<10).flatMap { _ in basis(4, 8, scale: 2) })
  let pass = try fusionPass(x, density: [Float](repeating: 1, count: 10), nextLength: 6)
  // Pairs (0,1), (1,2), (2,3), (3,4) are picked: frames 1-4 join frame 0.
  #expect(pass.starts == [0, 5, 6, 7, 8, 9])
  let runs = try (0..<5).map { _ in try fuse(x, targetLength: 3) }
  #expect(runs.allSatisfy { $0.frames == runs[0].frames && $0.spans == runs[0].spans })
}

@Test func spanSecondsUseTheFrameRate() {
  let span = FrameSpan(first: 25, last: 74)
  #expect(span.seconds(framesPerSecond: 25) == (start: 1.0, end: 3.0))
  #expect(span.seconds(framesPerSecond: 50) == (start: 0.5, end: 1.5))
}
