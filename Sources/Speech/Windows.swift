// Long audio as FastLongSpeech's `inference_file/chat_infer_long_speech.py` feeds it: back-to-back
// 30 s windows, each encoded alone, valid frames joined in time order (spec section 4).
import Core
import Foundation

/// One encoded 30 s window, as ``LongSpeechEncoder`` hands it out.
public struct EncodedWindow: Sendable {
  /// Position of the window in the stream, from 0.
  public let index: Int
  /// Index of the window's first sample in the stream.
  public let firstSample: Int
  /// Samples in the window (`AudioFrontEnd.samplesPerWindow` except for the last).
  public let sampleCount: Int
  /// Index of the window's first frame in the joined sequence.
  public let firstFrame: Int
  /// `[validFrames, D]`: the frames fusion consumes (see ``SpeechEncoder``).
  public let frames: Tensor

  /// Seconds of audio consumed once this window is done, for progress displays.
  public var endSeconds: Double {
    Double(firstSample + sampleCount) / Double(AudioFrontEnd.sampleRate)
  }
}

/// Every window's frames joined in time order: the input of one fusion over the whole audio.
public struct SpeechFrames: Sendable {
  /// `[T0, D]`.
  public var frames: Tensor
  /// Number of 30 s windows encoded.
  public var windowCount: Int
  /// Samples consumed.
  public var sampleCount: Int
  /// Frames per second of `frames`, for span times.
  public var framesPerSecond: Int
  /// Most samples the stream held at once (see ``LongSpeechEncoder/peakBufferedSamples``).
  public var peakBufferedSamples: Int

  public init(
    frames: Tensor, windowCount: Int, sampleCount: Int, framesPerSecond: Int,
    peakBufferedSamples: Int = 0
  ) {
    self.frames = frames
    self.windowCount = windowCount
    self.sampleCount = sampleCount
    self.framesPerSecond = framesPerSecond
    self.peakBufferedSamples = peakBufferedSamples
  }
}

/// Encodes a stream of 16 kHz mono samples of any length, window by window.
///
/// Feed samples in chunks of any size with ``append(_:)-(UnsafeBufferPointer<Float>)``; each time
/// 30 s have arrived the window is encoded and `onWindow` sees it (the hook for progress displays
/// and per-window consumers). ``finish()`` encodes the partial last window and returns the joined
/// frames. Besides those frames, memory holds one window of samples.
public final class LongSpeechEncoder {
  public let encoder: SpeechEncoder
  private let onWindow: ((EncodedWindow) throws -> Void)?
  private var pending: [Float] = []
  private var joined: [Float] = []
  private var windowCount = 0
  private var sampleCount = 0
  private var frameCount = 0
  private var finished = false
  /// Most samples held at once: the window being filled plus the chunk being appended. However
  /// long the stream, this stays within one window plus the largest chunk a caller passes.
  public private(set) var peakBufferedSamples = 0

  /// - `onWindow`: called after each window is encoded, in order; an error it throws stops the
  ///   stream and comes out of the `append` or `finish` call that encoded the window.
  public init(encoder: SpeechEncoder, onWindow: ((EncodedWindow) throws -> Void)? = nil) {
    self.encoder = encoder
    self.onWindow = onWindow
    pending.reserveCapacity(AudioFrontEnd.samplesPerWindow)
  }

  /// Adds samples to the stream, encoding every window they complete.
  public func append(_ samples: UnsafeBufferPointer<Float>) throws {
    precondition(!finished, "append after finish")
    peakBufferedSamples = max(peakBufferedSamples, pending.count + samples.count)
    var offset = 0
    while offset < samples.count {
      let take = min(AudioFrontEnd.samplesPerWindow - pending.count, samples.count - offset)
      pending.append(contentsOf: UnsafeBufferPointer(rebasing: samples[offset..<(offset + take)]))
      offset += take
      if pending.count == AudioFrontEnd.samplesPerWindow { try encodePending() }
    }
  }

  /// See ``append(_:)-(UnsafeBufferPointer<Float>)``.
  public func append(_ samples: [Float]) throws {
    try samples.withUnsafeBufferPointer { try append($0) }
  }

  /// Encodes what is left (the partial last window) and returns every valid frame, joined.
  public func finish() throws -> SpeechFrames {
    precondition(!finished, "finish called twice")
    if !pending.isEmpty { try encodePending() }
    finished = true
    return SpeechFrames(
      frames: Tensor(shape: [frameCount, encoder.config.width], scalars: joined),
      windowCount: windowCount, sampleCount: sampleCount,
      framesPerSecond: encoder.framesPerSecond, peakBufferedSamples: peakBufferedSamples)
  }

  private func encodePending() throws {
    let frames = encoder.encodeWindow(pending)
    let window = EncodedWindow(
      index: windowCount, firstSample: sampleCount, sampleCount: pending.count,
      firstFrame: frameCount, frames: frames)
    joined += frames.scalars
    windowCount += 1
    sampleCount += pending.count
    frameCount += frames.shape[0]
    pending.removeAll(keepingCapacity: true)
    try onWindow?(window)
  }
}
