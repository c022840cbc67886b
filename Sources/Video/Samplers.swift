// Frame selection: mmencode's time-based rules (`uniform`, `--fps` ticks) and exact ports of the
// index formulas published with transformers 4.57.6 (video_utils.default_sample_indices_fn),
// qwen_vl_utils (vision_process.fetch_video), VILA as vendored by Long-RL
// (vila_remote_code/media.py `_load_video`) and LLaVA-Video (`load_video`). Golden indices come
// from running those expressions with numpy 2.4 and torch 2.13 (fixtures/gen_video.py).

import Foundation
import Media

/// The rule that turns a frame budget into frames.
public enum SamplerFormula: String, CaseIterable, Codable, Sendable {
  /// mmencode's default: `n` instants at the centres of `n` equal parts of the time window,
  /// `t_i = start + (i + 0.5) * duration / n`, each taking the frame on screen then (the last
  /// frame starting at or before `t_i`). With `--fps F`: instants `start + k / F` before the
  /// window's end. Works on times, so variable frame rates are sampled evenly in time.
  case uniform
  /// transformers 4.57.6 `default_sample_indices_fn`: `np.arange(0, N, N / n, dtype=int)`.
  /// numpy fills an integer arange from its first step, so the indices are multiples of
  /// `int(N / n)` (N=300, n=8: 0, 37, 74, ..., 259), not `int(i * N / n)`. n > N is refused (as
  /// transformers' video processors refuse it; the bare function returns zeros). With fps:
  /// `n = int(N / video_fps * fps)`.
  case hf
  /// qwen_vl_utils: n rounded to a multiple of 2 (Python `round`, half to even), then
  /// `torch.linspace(0, N - 1, n).round()`: float32 linspace (torch's CPU kernel computes the
  /// first half as `start + step * i` and the second as `end - step * (n - 1 - i)`, each a fused
  /// multiply-add) and round half to even. Needs 2 <= n <= N. With fps: n = N / video_fps * fps
  /// clamped to [4, min(768, N)] (or to `--max-frames`), then rounded likewise.
  case qwen
  /// VILA (Long-RL's copy): every frame when N < n, else `np.linspace(0, N - 1, n, dtype=int)`
  /// (float64, truncated). Count only.
  case vila
  /// LLaVA-Video: `np.linspace(0, N - 1, n, dtype=int)` (its `force_sample` path; repeats frames
  /// when n > N). With fps: every `round(video_fps / fps)`-th frame, falling back to the linspace
  /// with n = `--max-frames` when that gives more.
  case llava
}

/// How many frames to take.
public enum FrameBudget: Hashable, Sendable {
  /// This many frames.
  case count(Int)
  /// This many frames per second of video.
  case fps(Double)
}

/// Which frames of a video to embed: a formula, a budget, an optional time window and cap.
///
/// Frame counts are always those of the packet-scan index (``FrameIndex``), never the
/// container's claim. Index formulas count the frames whose presentation time lies in the window
/// and number them from 0.
public struct FrameSampling: Hashable, Sendable {
  public var formula: SamplerFormula
  public var budget: FrameBudget
  /// Window start in seconds on the stream's clock (the times the output's `timestamps` hold,
  /// not shifted by the stream's start time); nil: the first frame.
  public var start: Double?
  /// Window end (exclusive) in seconds on the same clock; nil: the end of the last frame.
  public var end: Double?
  /// At most this many frames; a count budget is lowered to it, and fps sampling that would
  /// exceed it switches to the formula's count form with this many (uniform: `uniform` with n =
  /// max; qwen and llava: their own cap, as in their code).
  public var maxFrames: Int?

  /// One frame per second, ``SamplerFormula/uniform``: what `mmencode video FILE` takes.
  public static let `default` = FrameSampling(formula: .uniform, budget: .fps(1))

  public init(formula: SamplerFormula, budget: FrameBudget, start: Double? = nil, end: Double? = nil, maxFrames: Int? = nil) {
    self.formula = formula
    self.budget = budget
    self.start = start
    self.end = end
    self.maxFrames = maxFrames
  }

  /// Throws ``SamplingError/invalidSettings(reason:)`` for settings no video could satisfy.
  public func validate() throws {
    func invalid(_ reason: String) -> SamplingError { .invalidSettings(reason: reason) }
    switch budget {
    case .count(let n) where n < 1: throw invalid("the frame count must be at least 1, got \(n)")
    case .count(let n) where n > FrameIndex.maximumFrameCount:
      throw invalid("the frame count \(n) exceeds the largest video mmencode reads (\(FrameIndex.maximumFrameCount) frames)")
    case .fps(let f) where !(f.isFinite && f > 0): throw invalid("the frame rate must be positive, got \(f)")
    case .fps where formula == .vila: throw invalid("the vila formula takes a frame count, not a rate")
    default: break
    }
    if let start, !start.isFinite { throw invalid("the window start must be a number of seconds") }
    if let end, !end.isFinite { throw invalid("the window end must be a number of seconds") }
    if let start, let end, start >= end { throw invalid("the window start (\(start) s) must be before its end (\(end) s)") }
    if let maxFrames, maxFrames < 1 { throw invalid("the frame cap must be at least 1, got \(maxFrames)") }
  }

  /// The frames to take from the stream `index` describes.
  ///
  /// - Parameters:
  ///   - videoFPS: the frame rate the fps forms of the index formulas divide by (what their
  ///     readers report: the stream's average frame rate).
  ///   - path: the file, for error messages.
  /// - Throws: ``SamplingError`` when the settings or the video do not allow the formula.
  public func select(from index: FrameIndex, videoFPS: Double, path: String) throws -> FrameSelection {
    try validate()
    let timeline = Timeline(index)
    guard let window = timeline.window(start: start, end: end) else {
      let span = timeline.isEmpty ? "the stream has no frames" : "frames span \(timeline.first)-\(timeline.end) s"
      throw SamplingError.cannotSample(
        path: path, reason: "no frame in the window [\(start ?? timeline.first), \(end ?? timeline.end)) s; \(span)")
    }
    let frames = timeline.positions(startingIn: window)
    let n = frames.count
    func cannot(_ reason: String) -> SamplingError { .cannotSample(path: path, reason: reason) }
    if n == 0 && formula != .uniform {
      throw cannot("no frame starts in the window [\(window.lowerBound), \(window.upperBound)) s")
    }
    func offset(_ indices: [Int]) -> [Int] { indices.map { frames.lowerBound + $0 } }

    var positions: [Int]
    var capped = false
    switch (formula, budget) {
    case (.uniform, .count(let requested)):
      let count = min(requested, maxFrames ?? requested)
      capped = count < requested
      positions = timeline.uniform(count: count, in: window)
    case (.uniform, .fps(let rate)):
      let instants = ((window.upperBound - window.lowerBound) * rate).rounded(.up)
      guard instants <= Double(FrameIndex.maximumFrameCount) else {
        throw cannot("\(rate) fps over \(window.upperBound - window.lowerBound) s is \(instants) frames, more than mmencode reads")
      }
      positions = timeline.ticks(rate: rate, in: window)
      if let maxFrames, positions.count > maxFrames {
        positions = timeline.uniform(count: maxFrames, in: window)
        capped = true
      }
    case (.hf, .count(let requested)):
      let count = min(requested, maxFrames ?? requested)
      capped = count < requested
      guard count <= n else { throw cannot("hf sampling of \(count) frames needs at least that many; the window has \(n)") }
      positions = offset(IndexFormulas.hf(frameCount: n, count: count))
    case (.hf, .fps(let rate)):
      let derived = IndexFormulas.hfCount(frameCount: n, videoFPS: videoFPS, fps: rate)
      let count = min(derived, maxFrames ?? derived)
      capped = count < derived
      guard count >= 1, count <= n else {
        throw cannot("hf sampling at \(rate) fps asks for \(count) of the window's \(n) frames")
      }
      positions = offset(IndexFormulas.hf(frameCount: n, count: count))
    case (.qwen, .count(let requested)):
      let count = IndexFormulas.qwenEven(Double(min(requested, maxFrames ?? requested)))
      capped = maxFrames.map { $0 < requested } ?? false
      positions = offset(try qwen(frameCount: n, count: count, cannot))
    case (.qwen, .fps(let rate)):
      let count = IndexFormulas.qwenCount(frameCount: n, videoFPS: videoFPS, fps: rate, maxFrames: maxFrames)
      positions = offset(try qwen(frameCount: n, count: count, cannot))
    case (.vila, .count(let requested)):
      let count = min(requested, maxFrames ?? requested)
      capped = count < requested
      positions = offset(IndexFormulas.vila(frameCount: n, count: count))
    case (.llava, .count(let requested)):
      let count = min(requested, maxFrames ?? requested)
      capped = count < requested
      positions = offset(IndexFormulas.numpyLinspaceInt(frameCount: n, count: count))
    case (.llava, .fps(let rate)):
      guard let step = IndexFormulas.llavaStep(videoFPS: videoFPS, fps: rate) else {
        throw cannot("llava sampling at \(rate) fps steps by round(\(videoFPS) / \(rate)) = 0 frames")
      }
      positions = offset(Array(stride(from: 0, to: n, by: step)))
      if let maxFrames, positions.count > maxFrames {
        positions = offset(IndexFormulas.numpyLinspaceInt(frameCount: n, count: maxFrames))
        capped = true
      }
    case (.vila, .fps):
      throw SamplingError.invalidSettings(reason: "the vila formula takes a frame count, not a rate")
    }
    return FrameSelection(
      positions: positions, windowStart: window.lowerBound, windowEnd: window.upperBound, windowFrameCount: n,
      videoFPS: videoFPS, capped: capped)
  }

  private func qwen(frameCount n: Int, count: Int, _ cannot: (String) -> SamplingError) throws -> [Int] {
    guard count >= IndexFormulas.qwenFrameFactor, count <= n else {
      throw cannot("qwen sampling needs \(IndexFormulas.qwenFrameFactor) to \(n) frames (the window's), got \(count)")
    }
    return IndexFormulas.torchLinspaceRounded(frameCount: n, count: count)
  }

  /// The settings as output metadata (keys under `sampler.`).
  public var metadata: [String: String] {
    var values = ["sampler": formula.rawValue]
    switch budget {
    case .count(let n): values["sampler.frames"] = String(n)
    case .fps(let f): values["sampler.fps"] = String(f)
    }
    if let start { values["sampler.start"] = String(start) }
    if let end { values["sampler.end"] = String(end) }
    if let maxFrames { values["sampler.max_frames"] = String(maxFrames) }
    return values
  }
}

/// The frames a ``FrameSampling`` chose.
public struct FrameSelection: Sendable, Equatable {
  /// Positions in the ``FrameIndex`` in output order: non-decreasing, and repeated when the
  /// formula repeats a frame (more instants than frames, or llava's linspace with n > N).
  public let positions: [Int]
  /// The time window the selection used, in seconds on the stream's clock.
  public let windowStart: Double
  public let windowEnd: Double
  /// N: indexed frames whose time lies in the window (what the index formulas count).
  public let windowFrameCount: Int
  /// The frame rate the fps forms divided by.
  public let videoFPS: Double
  /// Whether `--max-frames` lowered the count or replaced fps sampling.
  public let capped: Bool

  /// The selection's facts as output metadata (keys under `sampler.`).
  public var metadata: [String: String] {
    [
      "sampler.window_start": String(windowStart), "sampler.window_end": String(windowEnd),
      "sampler.window_frames": String(windowFrameCount), "sampler.video_fps": String(videoFPS),
      "sampler.capped": String(capped),
    ]
  }
}

/// Why frames could not be chosen. Every case that concerns a file names it.
public enum SamplingError: Error, LocalizedError, Equatable, Sendable {
  /// Settings no video could satisfy (a zero count, a rate with a count-only formula, ...).
  case invalidSettings(reason: String)
  /// This video cannot be sampled as asked (too few frames for the formula, an empty window).
  case cannotSample(path: String, reason: String)

  public var errorDescription: String? {
    switch self {
    case .invalidSettings(let reason): "invalid sampling settings: \(reason)"
    case .cannotSample(let path, let reason): "\(path): cannot sample frames: \(reason)"
    }
  }
}

/// Frame start times in seconds, and the rule for which frame is on screen when.
private struct Timeline {
  /// `times[p]`: frame `p`'s presentation time (``FrameIndex/seconds(at:)``), increasing.
  let times: [Double]
  /// When the last frame stops being shown: its start plus the median frame duration (one tick
  /// of the time base for a one-frame stream).
  let end: Double

  init(_ index: FrameIndex) {
    times = (0..<index.count).map(index.seconds(at:))
    if let last = index.pts.last {
      let duration = index.frameDurations?.median ?? 1
      end = Double(last + duration) * Double(index.timeBase.numerator) / Double(index.timeBase.denominator)
    } else {
      end = 0
    }
  }

  var isEmpty: Bool { times.isEmpty }
  var first: Double { times.first ?? 0 }

  /// `[start, end)` clipped to the stream; nil when empty.
  func window(start: Double?, end requestedEnd: Double?) -> Range<Double>? {
    guard !times.isEmpty else { return nil }
    let lower = max(start ?? first, first)
    let upper = min(requestedEnd ?? end, end)
    return lower < upper ? lower..<upper : nil
  }

  /// Positions of the frames starting inside `window`.
  func positions(startingIn window: Range<Double>) -> Range<Int> {
    firstPosition(notBefore: window.lowerBound)..<firstPosition(notBefore: window.upperBound)
  }

  /// The frame on screen at `t` (>= the first frame's time): the last one starting at or before it.
  func shown(at t: Double) -> Int { firstPosition(after: t) - 1 }

  func uniform(count: Int, in window: Range<Double>) -> [Int] {
    let duration = window.upperBound - window.lowerBound
    return (0..<count).map { i in shown(at: window.lowerBound + (Double(i) + 0.5) * duration / Double(count)) }
  }

  func ticks(rate: Double, in window: Range<Double>) -> [Int] {
    var positions: [Int] = []
    for k in 0... {
      let t = window.lowerBound + Double(k) / rate
      guard t < window.upperBound else { break }
      positions.append(shown(at: t))
    }
    return positions
  }

  private func firstPosition(notBefore t: Double) -> Int { partition { $0 >= t } }
  private func firstPosition(after t: Double) -> Int { partition { $0 > t } }

  /// The first position whose time satisfies `isAbove` (monotone in time), or `times.count`.
  private func partition(_ isAbove: (Double) -> Bool) -> Int {
    var low = 0
    var high = times.count
    while low < high {
      let mid = (low + high) / 2
      if isAbove(times[mid]) { high = mid } else { low = mid + 1 }
    }
    return low
  }
}

/// The published index formulas over N frames numbered from 0, as their reference code computes
/// them (see ``SamplerFormula`` for where each comes from).
package enum IndexFormulas {
  /// qwen_vl_utils `FRAME_FACTOR`: frame counts are multiples of it.
  package static let qwenFrameFactor = 2
  /// qwen_vl_utils `FPS_MIN_FRAMES` and `FPS_MAX_FRAMES`: the fps form's clamp.
  package static let qwenFPSMinimumFrames = 4
  package static let qwenFPSMaximumFrames = 768

  /// `np.arange(0, N, N / n, dtype=int)`: numpy computes the length as ceil(N / step) in float64,
  /// stores `int(0)` and `int(0 + step)`, and fills the rest by repeating their difference.
  package static func hf(frameCount n: Int, count: Int) -> [Int] {
    let step = Double(n) / Double(count)
    let length = Int((Double(n) / step).rounded(.up))
    guard length > 0 else { return [] }
    let delta = Int(step)  // truncation, as numpy's setitem of a float into an int array
    return (0..<length).map { $0 * delta }
  }

  /// transformers' fps form: `int(N / video_fps * fps)`.
  package static func hfCount(frameCount n: Int, videoFPS: Double, fps: Double) -> Int {
    let count = Double(n) / videoFPS * fps
    return count.isFinite ? Int(count.rounded(.towardZero)) : 0
  }

  /// qwen_vl_utils `round_by_factor(n, FRAME_FACTOR)`: Python's `round(n / 2) * 2`.
  package static func qwenEven(_ n: Double) -> Int {
    let factor = Double(qwenFrameFactor)
    return Int((n / factor).rounded(.toNearestOrEven) * factor)
  }

  /// qwen_vl_utils' fps form: `N / video_fps * fps` clamped to `[ceil_by_factor(4),
  /// floor_by_factor(max_frames or min(768, N))]`, then `round_by_factor`.
  package static func qwenCount(frameCount n: Int, videoFPS: Double, fps: Double, maxFrames: Int?) -> Int {
    let factor = qwenFrameFactor
    let minimum = (qwenFPSMinimumFrames + factor - 1) / factor * factor
    let maximum = (maxFrames ?? min(qwenFPSMaximumFrames, n)) / factor * factor
    let wanted = Double(n) / videoFPS * fps
    return qwenEven(min(max(wanted, Double(minimum)), Double(maximum)))
  }

  /// `torch.linspace(0, N - 1, n).round().long()` on torch's CPU kernel: float32, step
  /// `(end - start) / (n - 1)`, the first half `start + step * i` and the second half
  /// `end - step * (n - 1 - i)` each with one rounding (fused multiply-add), then round half to
  /// even. n >= 2.
  package static func torchLinspaceRounded(frameCount n: Int, count: Int) -> [Int] {
    let end = Float(n - 1)
    let step = end / Float(count - 1)
    let halfway = count / 2
    return (0..<count).map { i in
      let value =
        i < halfway
        ? Float(0).addingProduct(step, Float(i))
        : end.addingProduct(-step, Float(count - 1 - i))
      return Int(value.rounded(.toNearestOrEven))
    }
  }

  /// `np.linspace(0, N - 1, n, dtype=int)`: float64 `i * step` with the last value exactly
  /// N - 1, floored.
  package static func numpyLinspaceInt(frameCount n: Int, count: Int) -> [Int] {
    guard count > 1 else { return count == 1 ? [0] : [] }
    let last = Double(n - 1)
    let step = last / Double(count - 1)
    return (0..<count).map { i in i == count - 1 ? n - 1 : Int((Double(i) * step).rounded(.down)) }
  }

  /// VILA's `_load_video`: every frame of a short video, else the integer linspace.
  package static func vila(frameCount n: Int, count: Int) -> [Int] {
    n < count ? Array(0..<n) : numpyLinspaceInt(frameCount: n, count: count)
  }

  /// LLaVA-Video's frame step `round(video_fps / fps)` (Python round); nil when it is 0.
  package static func llavaStep(videoFPS: Double, fps: Double) -> Int? {
    let step = (videoFPS / fps).rounded(.toNearestOrEven)
    guard step.isFinite, step >= 1 else { return nil }
    return Int(step)
  }
}
