import Core
import Foundation

/// Long speech compressed for a speech-language model: what `mmencode speech` writes.
public struct FusedSpeech: Sendable {
  /// `[min(T0, L), D]`: fused frames after the encoder's ``SpeechEncoder/outputNorm(_:)``, as the
  /// language model's projector receives them.
  public var fused: Tensor
  /// First and last input frame of each fused frame.
  public var spans: [FrameSpan]
  /// Frames per second of the unfused frames, which the spans index.
  public var framesPerSecond: Int
  /// Frame count after each fusion pass.
  public var passLengths: [Int]
  /// `T0`, the number of unfused frames.
  public var inputFrames: Int
  /// Number of 30 s windows encoded.
  public var windowCount: Int
  public var targetLength: Int
  public var schedule: FusionSchedule
  /// Whether a CTC head weighted the means (otherwise every density was 1).
  public var usedDensityHead: Bool

  /// The fused frames' time ranges in seconds, `[start, end)` for each.
  public var spanSeconds: [(start: Double, end: Double)] {
    spans.map { $0.seconds(framesPerSecond: framesPerSecond) }
  }

  /// `fused` (float32 `[L, D]`), `spans` (int64 `[L, 2]`) and `span_seconds` (float64 `[L, 2]`).
  public var arrays: [NamedArray] {
    let l = spans.count
    return [
      NamedArray("fused", fused),
      NamedArray("spans", shape: [l, 2], values: .int64(spans.flatMap { [Int64($0.first), Int64($0.last)] })),
      NamedArray(
        "span_seconds", shape: [l, 2], values: .float64(spanSeconds.flatMap { [$0.start, $0.end] })),
    ]
  }

  /// String metadata describing how the output was made.
  public var metadata: [String: String] {
    [
      "window_count": String(windowCount), "input_frames": String(inputFrames),
      "target_length": String(targetLength), "output_frames": String(spans.count),
      "schedule": schedule.rawValue, "ctc_head": usedDensityHead ? "true" : "false",
      "frames_per_second": String(framesPerSecond),
    ]
  }
}

extension FusionSchedule {
  /// The default target length: one 30 s window of Qwen2-Audio frames (25 Hz), the speech length
  /// FastLongSpeech's language model was trained on (spec 6.8).
  public static let defaultTargetLength = 750
}

extension SpeechEncoder {
  /// Fuses a stream's joined frames to `targetLength` and applies the output norm.
  ///
  /// - `head`: the CTC density head; nil means density 1 everywhere. Its width must match the
  ///   encoder's (``SpeechError/headMismatch(path:reason:)`` otherwise).
  public func fuse(
    _ speech: SpeechFrames, targetLength: Int = FusionSchedule.defaultTargetLength,
    schedule: FusionSchedule = .halving, head: CTCDensityHead? = nil
  ) throws -> FusedSpeech {
    try head?.check(width: config.width)
    let result = try Speech.fuse(
      speech.frames, targetLength: targetLength, schedule: schedule,
      density: head ?? UniformDensity())
    return FusedSpeech(
      fused: outputNorm(result.frames), spans: result.spans,
      framesPerSecond: speech.framesPerSecond, passLengths: result.passLengths,
      inputFrames: speech.frames.shape[0], windowCount: speech.windowCount,
      targetLength: targetLength, schedule: schedule, usedDensityHead: head != nil)
  }
}
