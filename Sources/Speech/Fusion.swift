// FastLongSpeech iterative fusion (arXiv 2507.14815, Eqs. 4-6), following
// `merge_audios_reforward_onlysimilar_iterate_inte_blank_logit_longSpeech` in ictnlp/FastLongSpeech
// `models/qwen2audio_withCTC.py`, with the choices of /work/shared/specs/fastlongspeech.md section 6.
import Core
import Foundation

/// How fusion steps from `T0` frames down to the target `L`.
public enum FusionSchedule: String, Sendable, CaseIterable {
  /// Halve (rounding down) while more than `2L` frames remain, then go straight to `L` (Eq. 5):
  /// 15000 → 7500 → 3750 → 1875 → 937 → 750 for `L = 750`. The default, and the long-audio path.
  case halving
  /// Step down the fixed ladder of the short-audio and training code, `[400, 200, 100, 50, 25, 12]`:
  /// start at the first entry below `T0` and stop at `L`, which must be on the ladder
  /// (750 → 400 → 200 → 100 for `L = 100`). Meant for single-window input.
  case ladder

  /// The ladder's lengths, longest first.
  public static let ladderLengths = [400, 200, 100, 50, 25, 12]

  /// The lengths after each pass, from `t0` frames to `target` (empty when `t0 <= target`).
  ///
  /// Throws ``SpeechError/invalidTargetLength(_:)`` for `target < 1` and, for the ladder,
  /// ``SpeechError/targetNotOnLadder(target:ladder:)``.
  public func lengths(from t0: Int, to target: Int) throws -> [Int] {
    guard target >= 1 else { throw SpeechError.invalidTargetLength(target) }
    switch self {
    case .halving:
      var lengths: [Int] = []
      var t = t0
      while t > target {
        t = t > 2 * target ? t / 2 : target
        lengths.append(t)
      }
      return lengths
    case .ladder:
      guard Self.ladderLengths.contains(target) else {
        throw SpeechError.targetNotOnLadder(target: target, ladder: Self.ladderLengths)
      }
      return Self.ladderLengths.filter { $0 < t0 && $0 >= target }
    }
  }
}

/// The input frames one output frame covers: `first...last`, indices into the unfused sequence.
public struct FrameSpan: Sendable, Equatable, Hashable {
  public var first: Int
  public var last: Int
  public init(first: Int, last: Int) {
    self.first = first
    self.last = last
  }

  /// Start of the first frame and end of the last, in seconds, at `framesPerSecond` frames per
  /// second from the start of the audio.
  public func seconds(framesPerSecond: Int) -> (start: Double, end: Double) {
    (Double(first) / Double(framesPerSecond), Double(last + 1) / Double(framesPerSecond))
  }
}

/// The outcome of ``fuse(_:targetLength:schedule:density:)``.
public struct FusionResult: Sendable {
  /// `[min(T0, L), D]`: the fused frames, in time order.
  public var frames: Tensor
  /// For each output frame, the input frames it merges; contiguous and covering `0..<T0`.
  public var spans: [FrameSpan]
  /// Frame count after each pass (empty when no fusion was needed).
  public var passLengths: [Int]
}

/// Merges `frames` down to `targetLength` frames by FastLongSpeech's iterative fusion.
///
/// Each pass scores adjacent pairs by cosine similarity, merges the `T - next` most similar pairs
/// at once (touching pairs chain into one span), and replaces each span by its density-weighted
/// mean `Σ d x / (Σ d + 1e-7)`. The density is recomputed on the merged frames every pass.
/// - Ties in similarity go to the lower index, so results are deterministic.
/// - A pair with a zero-norm frame has similarity +infinity and merges first (spec 6.5), so no NaN
///   ever reaches the ranking.
/// - When `T0 <= targetLength` the input comes back unchanged and `density` is not called.
///
/// - `frames`: `[T0, D]`, finite. Returns `[min(T0, targetLength), D]` with spans and pass lengths.
/// - Throws ``SpeechError`` for `targetLength < 1`, a target off the ladder, frames that are not
///   `[T, D]` or not finite, or densities outside `[0, 1]`.
public func fuse(
  _ frames: Tensor, targetLength: Int, schedule: FusionSchedule = .halving,
  density: any ContentDensity = UniformDensity()
) throws -> FusionResult {
  guard frames.rank == 2 else {
    throw SpeechError.invalidFrames(reason: "expected a [T, D] array, got shape \(frames.shape)")
  }
  let (t0, d) = (frames.shape[0], frames.shape[1])
  let lengths = try schedule.lengths(from: t0, to: targetLength)
  guard let firstLength = lengths.first else {
    return FusionResult(
      frames: frames, spans: (0..<t0).map { FrameSpan(first: $0, last: $0) }, passLengths: [])
  }
  // The first pass writes a new buffer (the caller's frames stay untouched); later passes merge
  // in place inside it and shrink it, so one allocation serves the whole run.
  // (Left uninitialised: the first pass writes every element before anything reads it.)
  var merged = [Float](unsafeUninitializedCapacity: firstLength * d) { _, n in n = firstLength * d }
  var current = frames
  var spans = (0..<t0).map { FrameSpan(first: $0, last: $0) }
  for (pass, next) in lengths.enumerated() {
    let t = current.shape[0]
    let weights = try density.density(of: current)
    let starts = try groupStarts(current, density: weights, nextLength: next)
    spans = starts.indices.map { k in
      let end = k + 1 < starts.count ? starts[k + 1] : t
      return FrameSpan(first: spans[starts[k]].first, last: spans[end - 1].last)
    }
    if pass == 0 {
      current.scalars.withUnsafeBufferPointer { source in
        merged.withUnsafeMutableBufferPointer { target in
          mergeGroups(
            source.baseAddress!, into: target.baseAddress!, starts: starts, weights: weights,
            count: t, width: d)
        }
      }
    } else {
      // Drop our reference first, so `merged` is uniquely owned and is written in place.
      current = Tensor(shape: [0, d], scalars: [])
      merged.withUnsafeMutableBufferPointer { buffer in
        mergeGroupsInPlace(buffer.baseAddress!, starts: starts, weights: weights, count: t, width: d)
      }
      merged.removeLast((t - next) * d)
    }
    current = Tensor(shape: [next, d], scalars: merged)
  }
  return FusionResult(frames: current, spans: spans, passLengths: lengths)
}
/// One fusion pass, exposed for tests of its invariants.
package struct FusionPass: Sendable {
  /// `[nextLength, D]`.
  package var frames: Tensor
  /// Index of the first input frame of each group, increasing, starting at 0.
  package var starts: [Int]
}

/// The weighted-mean term that keeps every group's denominator positive.
let fusionEpsilon: Float = 1e-7

/// Merges `x` `[T, D]` into `nextLength` groups (`1 <= nextLength < T`) weighted by `density`.
package func fusionPass(_ x: Tensor, density: [Float], nextLength: Int) throws -> FusionPass {
  let starts = try groupStarts(x, density: density, nextLength: nextLength)
  let (t, d) = (x.shape[0], x.shape[1])
  let merged = x.scalars.withUnsafeBufferPointer { source in
    Tensor(uninitializedShape: [nextLength, d]) { target in
      mergeGroups(
        source.baseAddress!, into: target.baseAddress!, starts: starts, weights: density, count: t,
        width: d)
    }
  }
  return FusionPass(frames: merged, starts: starts)
}

/// The first frame of each of `nextLength` groups: the `T - nextLength` most similar adjacent
/// pairs (ties to the lower index) join. Checks the densities on the way.
func groupStarts(_ x: Tensor, density: [Float], nextLength: Int) throws -> [Int] {
  let t = x.shape[0]
  precondition(nextLength >= 1 && nextLength < t, "a pass goes from \(t) to \(nextLength) frames")
  guard density.count == t else {
    throw SpeechError.invalidDensity(reason: "\(density.count) values for \(t) frames")
  }
  if let bad = density.firstIndex(where: { !($0 >= 0 && $0 <= 1) }) {
    throw SpeechError.invalidDensity(reason: "frame \(bad) has density \(density[bad])")
  }
  let similarity = try adjacentCosines(x)
  // Rank pairs by (similarity descending, index ascending) with one integer sort: the high 32
  // bits order the Float similarity (flipped so larger sorts first), the low 32 hold the index.
  var keys = similarity.enumerated().map { j, s -> UInt64 in
    let bits = s.bitPattern
    let ordered = bits & 0x8000_0000 != 0 ? ~bits : bits | 0x8000_0000
    return UInt64(~ordered) << 32 | UInt64(j)
  }
  keys.sort()
  var joinsLeft = [Bool](repeating: false, count: t)
  for key in keys.prefix(t - nextLength) { joinsLeft[Int(key & 0xFFFF_FFFF) + 1] = true }
  let starts = (0..<t).filter { !joinsLeft[$0] }
  assert(starts.count == nextLength)
  return starts
}

/// Row `k` of `target` = `Σ w_i x_i / (Σ w_i + 1e-7)` over group `k`'s rows of `source`
/// (`[count, width]`), summed in time order like the reference's `index_add_`. Groups are split
/// among threads.
func mergeGroups(
  _ source: UnsafePointer<Float>, into target: UnsafeMutablePointer<Float>, starts: [Int],
  weights: [Float], count: Int, width: Int
) {
  starts.withUnsafeBufferPointer { starts in
    weights.withUnsafeBufferPointer { weights in
      // A group reads its rows, on average `count / starts.count` of them.
      let rowsPerGroup = count / max(starts.count, 1)
      Threads.parallelFor(starts.count, grain: grain(elementsPerItem: rowsPerGroup * width)) { groups in
        for k in groups {
          let end = k + 1 < starts.count ? starts[k + 1] : count
          mergeGroup(source, rows: starts[k]..<end, weights: weights, width: width, into: target + k * width)
        }
      }
    }
  }
}

/// ``mergeGroups(_:into:starts:weights:count:width:)`` with `target == source`, on one thread:
/// group `k` lands on row `k <= starts[k]`, and no later group reads a row before its own start.
func mergeGroupsInPlace(
  _ buffer: UnsafeMutablePointer<Float>, starts: [Int], weights: [Float], count: Int, width: Int
) {
  weights.withUnsafeBufferPointer { weights in
    for k in starts.indices {
      let end = k + 1 < starts.count ? starts[k + 1] : count
      mergeGroup(buffer, rows: starts[k]..<end, weights: weights, width: width, into: buffer + k * width)
    }
  }
}

/// `out = Σ_{i in rows} w_i x_i / (Σ w_i + 1e-7)`; `out` may be the first row of `rows` or any
/// row before it.
@inline(__always) private func mergeGroup(
  _ x: UnsafePointer<Float>, rows: Range<Int>, weights: UnsafeBufferPointer<Float>, width: Int,
  into out: UnsafeMutablePointer<Float>
) {
  let first = rows.lowerBound
  var total = weights[first]
  let x0 = x + first * width
  for c in 0..<width { out[c] = total * x0[c] }
  for i in rows.dropFirst() {
    let w = weights[i]
    let src = x + i * width
    for c in 0..<width { out[c] += w * src[c] }
    total += w
  }
  let denominator = total + fusionEpsilon
  for c in 0..<width { out[c] /= denominator }
}

/// `s[j] = cos(x[j], x[j+1])` for `j` in `0..<T-1`, in Float; `+infinity` when either frame is
/// the zero vector. Throws for non-finite frames.
func adjacentCosines(_ x: Tensor) throws -> [Float] {
  let (t, d) = (x.shape[0], x.shape[1])
  var squares = [Double](repeating: 0, count: t)
  var dots = [Double](repeating: 0, count: max(t - 1, 0))
  x.scalars.withUnsafeBufferPointer { px in
    squares.withUnsafeMutableBufferPointer { sq in
      dots.withUnsafeMutableBufferPointer { dt in
        // A frame takes two dot products of length d.
        Threads.parallelFor(t, grain: grain(elementsPerItem: 2 * d)) { frames in
          for j in frames {
            let a = px.baseAddress! + j * d
            sq[j] = Double(sumOfProducts(a, a, d))
            if j + 1 < t { dt[j] = Double(sumOfProducts(a, a + d, d)) }
          }
        }
      }
    }
  }
  // A non-finite sum of squares is either a non-finite value (an error) or a Float overflow of
  // entries beyond ~1e18 (then everything is redone in Double, where it cannot overflow).
  let overflowing = squares.indices.filter { !squares[$0].isFinite }
  for j in overflowing {
    try x.withRow(j) { row in
      guard row.allSatisfy(\.isFinite) else {
        throw SpeechError.invalidFrames(reason: "frame \(j) has a non-finite value")
      }
    }
  }
  if !overflowing.isEmpty { return exactAdjacentCosines(x) }
  return (0..<max(t - 1, 0)).map { j in
    squares[j] == 0 || squares[j + 1] == 0
      ? .infinity : Float(dots[j] / (squares[j].squareRoot() * squares[j + 1].squareRoot()))
  }
}

/// ``adjacentCosines(_:)`` summed in Double, for frames whose Float sums overflow.
private func exactAdjacentCosines(_ x: Tensor) -> [Float] {
  let (t, d) = (x.shape[0], x.shape[1])
  let s = x.scalars
  func dot(_ i: Int, _ j: Int) -> Double {
    var sum = 0.0
    for c in 0..<d { sum += Double(s[i * d + c]) * Double(s[j * d + c]) }
    return sum
  }
  return (0..<max(t - 1, 0)).map { j in
    let (a, b) = (dot(j, j), dot(j + 1, j + 1))
    if a == 0 || b == 0 { return .infinity }
    return Float(dot(j, j + 1) / (a.squareRoot() * b.squareRoot()))
  }
}

/// `Σ a[i] b[i]` over `count` Floats, with 16 partial sums so the loop vectorises.
@inline(__always) func sumOfProducts(
  _ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ count: Int
) -> Float {
  typealias V = SIMD16<Float>
  let lanes = V.scalarCount
  var acc = V.zero
  var i = 0
  let rawA = UnsafeRawPointer(a)
  let rawB = UnsafeRawPointer(b)
  while i + lanes <= count {
    let va = rawA.loadUnaligned(fromByteOffset: i * 4, as: V.self)
    let vb = rawB.loadUnaligned(fromByteOffset: i * 4, as: V.self)
    acc += va * vb
    i += lanes
  }
  var sum = acc.sum()
  while i < count {
    sum += a[i] * b[i]
    i += 1
  }
  return sum
}
