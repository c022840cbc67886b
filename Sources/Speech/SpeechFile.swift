// Long speech straight from a media file: FFmpeg decodes and resamples (Media's AudioReader), and
// each 30 s window is encoded as soon as its samples have arrived, so an hour of audio never sits
// in memory; only the encoded frames accumulate.
import Core
import Foundation
import Media

extension SpeechEncoder {
  /// Samples taken from the decoder per step (one second): together with the window being
  /// filled, the most samples ever held at once.
  public static let fileChunkSamples = AudioFrontEnd.sampleRate

  /// Decodes the audio of `path` and encodes it window by window (spec section 4).
  ///
  /// - `path`: any file FFmpeg reads with an audio stream (WAV, FLAC, MP3, M4A, a video's audio
  ///   track); it is downmixed to mono and resampled to 16 kHz exactly as
  ///   `ffmpeg -i FILE -ac 1 -ar 16000 -f f32le` does.
  /// - `schedule`: the fusion that will follow. The ladder is meant for at most one 30 s window
  ///   (spec 6.1), so with `.ladder` reading stops with ``SpeechError/ladderNeedsOneWindow(path:)``
  ///   as soon as the audio proves longer, not after all of it has been encoded.
  /// - `progress`: told the windows encoded so far under the item `path` (`total` is estimated from
  ///   the stream's duration, when the container states one, and made exact by the last report).
  /// - Returns the joined frames `[T0, width]`; at most one window plus ``fileChunkSamples``
  ///   samples are held at any time (``SpeechFrames/peakBufferedSamples``).
  /// - Throws `MediaError` for files without audio and for damaged or truncated audio.
  public func encode(
    file path: String, schedule: FusionSchedule = .halving, progress: ProgressHandler? = nil
  ) throws -> SpeechFrames {
    let reader = try AudioReader(path: path, sampleRate: AudioFrontEnd.sampleRate)
    let estimatedWindows = reader.stream.duration.map {
      Int((max($0, 0) * Double(AudioFrontEnd.sampleRate) / Double(AudioFrontEnd.samplesPerWindow)).rounded(.up))
    }
    var last: ProgressReport? = nil
    func report(_ windows: Int, total: Int?) {
      let next = ProgressReport(item: path, completed: windows, total: total, unit: "windows")
      if next != last { progress?(next) }
      last = next
    }
    report(0, total: estimatedWindows)
    let stream = LongSpeechEncoder(encoder: self) { window in
      // The estimate can fall short (durations are rounded or guessed from the bit rate).
      report(window.index + 1, total: estimatedWindows.map { max($0, window.index + 1) })
    }
    var samples = 0
    while let chunk = try reader.read(maxSamples: Self.fileChunkSamples) {
      samples += chunk.count
      try schedule.check(seconds: Double(samples) / Double(AudioFrontEnd.sampleRate), path: path)
      try stream.append(chunk)
    }
    let frames = try stream.finish()
    report(frames.windowCount, total: frames.windowCount)
    return frames
  }

  /// Everything from a media file to what a speech-language model takes: ``encode(file:schedule:progress:)``,
  /// then ``fuse(_:targetLength:schedule:head:)`` (fusion, then the final norm).
  ///
  /// The target, the schedule and the head are checked before any audio is decoded.
  /// - Returns `fused` `[min(T0, targetLength), width]` with its spans; see ``FusedSpeech``.
  public func encodeAndFuse(
    file path: String, targetLength: Int = FusionSchedule.defaultTargetLength,
    schedule: FusionSchedule = .halving, head: CTCDensityHead? = nil,
    progress: ProgressHandler? = nil
  ) throws -> FusedSpeech {
    try schedule.check(targetLength: targetLength)
    try head?.check(width: config.width)
    let frames = try encode(file: path, schedule: schedule, progress: progress)
    return try fuse(frames, targetLength: targetLength, schedule: schedule, head: head)
  }
}

extension FusionSchedule {
  /// Throws the error fusion would throw for `targetLength` (below 1, or off the ladder), so a
  /// request can be refused before any work is done.
  public func check(targetLength: Int) throws {
    _ = try lengths(from: 0, to: targetLength)
  }

  /// Throws ``SpeechError/ladderNeedsOneWindow(path:)`` when this is the ladder and `seconds` of
  /// audio (from `path`) exceed one encoder window.
  ///
  /// The ladder comes from FastLongSpeech's short-audio path, and the checkpoint was trained with it
  /// on clips under 30 s; on longer input it would jump from thousands of frames to 400 in a single
  /// pass, which the paper's ablation ("w/o iteration") shows to be worse. So it is refused there
  /// rather than silently run.
  public func check(seconds: Double, path: String) throws {
    if self == .ladder && seconds > Double(AudioFrontEnd.windowSeconds) {
      throw SpeechError.ladderNeedsOneWindow(path: path)
    }
  }
}
