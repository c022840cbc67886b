import CFFmpeg
import Foundation

/// One decoded video frame, as displayed.
///
/// The `ffmpeg` CLI produces the same RGB bytes for frame `N` when given the same conversion
/// (``ffmpegFilter``), turning the picture after conversion, not before as its autorotate does:
///
///     ffmpeg -noautorotate -i FILE -vf "select=eq(n\,N),FILTER" -frames:v 1 \
///       -fps_mode passthrough -f rawvideo OUT.rgb        # or -c:v png OUT.png
public struct VideoFrame: Sendable, Equatable {
  /// The frame's index in presentation order (its position in ``FrameIndex``).
  public let index: Int
  /// Presentation timestamp in the stream's time base.
  public let pts: Int64
  /// `pts` in seconds (not shifted by the stream's start time).
  public let seconds: Double
  /// Full-resolution RGB (`[height, width, 3]` uint8), turned by the stream's orientation.
  public let image: PixelImage
  /// How the picture's colours were converted.
  public let color: ResolvedColor
  /// How the picture was turned for display.
  public let orientation: Orientation

  /// The `ffmpeg -vf` filters that convert and turn a decoded picture exactly as this frame was,
  /// e.g. `scale=in_color_matrix=bt601:in_range=limited:flags=bicubic+accurate_rnd+full_chroma_int+bitexact,format=rgb24,transpose=clock`.
  public var ffmpegFilter: String {
    var options: [String] = []
    if let matrix = color.matrix { options.append("in_color_matrix=\(matrix.rawValue)") }
    if let range = color.range { options.append("in_range=\(range.rawValue)") }
    options.append("flags=\(ColorSettings.scalerFlags)")
    let convert = "scale=\(options.joined(separator: ":")),format=rgb24"
    return [convert, orientation.ffmpegFilter].compactMap { $0 }.joined(separator: ",")
  }
}

/// Exact frame access to one video stream.
///
/// Opening indexes the stream (``FrameIndex``). A request for frame `i` decodes from the last
/// keyframe at or before it and selects the frame by timestamp; a later request continues decoding
/// forward when no keyframe lies between the last decoded frame and the target (seeking would not
/// skip anything), and seeks otherwise. Only requested frames are converted to RGB, and only the
/// last one is kept, so memory stays bounded however long the video is.
///
/// Damage is an error, never a picture: the decoder runs with error concealment turned into
/// failure, and a frame it still flags as damaged is refused.
///
/// Not thread-safe: use one reader from one task at a time.
public final class VideoReader {
  public let path: String
  /// The stream being read, as probed.
  public let stream: VideoStreamInfo
  public let index: FrameIndex
  /// How frames are turned for display.
  public let orientation: Orientation
  public let colorSettings: ColorSettings

  /// Frames the decoder produced so far (requested or not).
  public var framesDecoded: Int { engine.framesDecoded }
  /// Frames converted to RGB so far.
  public private(set) var framesConverted = 0
  /// Times the reader had to reposition (seek or reopen) so far.
  public private(set) var repositions = 0

  private let engine: VideoDecodeEngine
  private let converter: PixelConverter
  /// Timestamp of the last frame the decoder handed out; nil when decoding cannot simply continue
  /// (nothing decoded yet, the stream was drained, or a request failed).
  private var lastDecoded: Int64? = nil
  private var lastFrame: VideoFrame? = nil

  /// Opens and indexes a video stream.
  ///
  /// - Parameters:
  ///   - streamIndex: which stream; by default the one FFmpeg picks, skipping cover art.
  ///   - color: how pictures become RGB.
  ///   - threads: decoder threads (0: FFmpeg's choice). One thread keeps decode errors attached
  ///     to the packet that caused them.
  public init(path: String, streamIndex: Int? = nil, color: ColorSettings = .default, threads: Int = 1) throws {
    let input = try MediaInput(path: path)
    let chosen = try streamIndex ?? Self.defaultVideoStream(of: input)
    guard chosen >= 0, chosen < input.streamCount,
      input.stream(chosen).pointee.codecpar.pointee.codec_type == AVMEDIA_TYPE_VIDEO
    else {
      throw MediaError.noVideoStream(path: path)
    }
    let stream = input.stream(chosen)
    guard (stream.pointee.disposition & AV_DISPOSITION_ATTACHED_PIC) == 0 else {
      throw MediaError.noVideoStream(path: path)
    }
    guard let orientation = displayOrientation(of: stream) else {
      let degrees = displayRotation(of: stream).map { String(format: "%.1f", $0) } ?? "?"
      throw MediaError.unsupported(path: path, reason: "display rotation of \(degrees) degrees is not a multiple of 90")
    }
    self.path = path
    self.orientation = orientation
    self.colorSettings = color
    index = try FrameIndex.build(path: path, streamIndex: chosen)
    self.stream = VideoStreamInfo(stream, index: index)
    engine = try VideoDecodeEngine(path: path, streamIndex: chosen, threads: threads)
    converter = PixelConverter(path: path)
  }

  private static func defaultVideoStream(of input: MediaInput) throws -> Int {
    let candidates = (0..<input.streamCount).filter {
      let stream = input.stream($0).pointee
      return stream.codecpar.pointee.codec_type == AVMEDIA_TYPE_VIDEO
        && (stream.disposition & AV_DISPOSITION_ATTACHED_PIC) == 0
    }
    if let best = input.bestStream(AVMEDIA_TYPE_VIDEO), candidates.contains(best) { return best }
    guard let first = candidates.first else { throw MediaError.noVideoStream(path: input.path) }
    return first
  }

  /// Frame `position` (its index in presentation order).
  public func frame(at position: Int) throws -> VideoFrame {
    guard index.pts.indices.contains(position) else {
      let reason = "frame \(position) requested, \(index.count) frames can be read"
      if position >= index.count, let problem = index.end.problem {
        throw MediaError.truncated(path: path, reason: "\(reason): \(problem)")
      }
      throw MediaError.timestampOutOfRange(path: path, reason: reason)
    }
    if let lastFrame, lastFrame.index == position { return lastFrame }
    do {
      let frame = try decode(position)
      lastFrame = frame
      return frame
    } catch {
      lastDecoded = nil
      lastFrame = nil
      throw error
    }
  }

  /// The frame whose presentation timestamp is `pts`.
  public func frame(pts: Int64) throws -> VideoFrame {
    guard let position = index.position(pts: pts) else { throw outOfRange(ticks: pts) }
    return try frame(at: position)
  }

  /// The frame on screen at `seconds` (see ``FrameIndex/position(playedAt:)``).
  public func frame(playedAt seconds: Double) throws -> VideoFrame {
    guard let position = index.position(playedAt: seconds) else {
      let ticks = (seconds * Double(index.timeBase.denominator) / Double(index.timeBase.numerator)).rounded(.down)
      // Only for choosing the message: anything outside Int64 is simply "past the end" or before.
      let clamped = Int64(exactly: ticks) ?? (ticks < 0 ? Int64.min : Int64.max)
      throw outOfRange(ticks: clamped, seconds: seconds)
    }
    return try frame(at: position)
  }

  /// The frames at `positions`, decoded one at a time as the sequence is iterated, in the given
  /// order (increasing order decodes each frame at most once).
  public func frames(at positions: [Int]) -> VideoFrames { VideoFrames(reader: self, positions: positions) }

  private func outOfRange(ticks: Int64, seconds: Double? = nil) -> MediaError {
    let requested = seconds.map { "\($0) s" } ?? "pts \(ticks)"
    guard let first = index.pts.first, let last = index.pts.last else {
      if let problem = index.end.problem { return .truncated(path: path, reason: "no frame can be read: \(problem)") }
      return .timestampOutOfRange(path: path, reason: "\(requested) requested, the stream has no frames")
    }
    let span = "frames span \(index.seconds(pts: first))-\(index.seconds(pts: last)) s"
    if ticks > last, let problem = index.end.problem {
      return .truncated(path: path, reason: "\(requested) is past the last readable frame (\(span)): \(problem)")
    }
    if ticks >= first && ticks <= last && seconds == nil {
      return .timestampOutOfRange(path: path, reason: "no frame has pts \(ticks) (\(span))")
    }
    return .timestampOutOfRange(path: path, reason: "\(requested) is outside the stream (\(span))")
  }

  private enum Outcome { case found, overshot, missed(Int64), ended }

  private func decode(_ position: Int) throws -> VideoFrame {
    let target = index.pts[position]
    var keyframe = index.keyframe(atOrBefore: position)
    // Continue decoding when seeking would skip nothing: the target's keyframe is not past the
    // next frame the decoder will hand out.
    let forward =
      if let lastDecoded, lastDecoded < target {
        keyframe.map { $0 <= index.position(after: lastDecoded) } ?? true
      } else {
        // A freshly opened file is already at its first keyframe.
        engine.isAtStart && (keyframe ?? 0) <= (index.keyframes.first ?? 0)
      }
    if !forward { try reposition(to: keyframe) }
    var firstAfterReposition = !forward
    while true {
      switch try decodeUntil(target, firstAfterReposition: firstAfterReposition) {
      case .found:
        let decoded = engine.frame
        defer { av_frame_unref(decoded.pointer) }
        guard !decoded.isDamaged else {
          throw MediaError.decodeFailed(
            path: path,
            reason: "frame \(position) at \(index.seconds(at: position)) s is damaged (errors in it or in a frame it depends on)")
        }
        let (image, color) = try converter.convert(
          decoded.pointer, to: .rgb, settings: colorSettings, orientation: orientation)
        framesConverted += 1
        return VideoFrame(
          index: position, pts: target, seconds: index.seconds(at: position), image: image, color: color,
          orientation: orientation)
      case .overshot:
        // The demuxer landed after the keyframe the index names (some demuxers seek by decode
        // time); start one keyframe earlier, and from the top of the file when there is none.
        guard let current = keyframe else {
          throw MediaError.decodeFailed(
            path: path, reason: "frame \(position) (pts \(target)) is not in the stream when decoded from its start")
        }
        keyframe = index.keyframes.last { $0 < current }
        try reposition(to: keyframe)
        firstAfterReposition = true
      case .missed(let shown):
        throw MediaError.decodeFailed(
          path: path,
          reason: "frame \(position) (pts \(target)) never came out of the decoder, which went on to pts \(shown)")
      case .ended:
        throw MediaError.decodeFailed(
          path: path, reason: "the decoder ended before frame \(position) (pts \(target))"
            + (engine.end.problem.map { ": \($0)" } ?? ""))
      }
    }
  }

  /// Decodes until the frame with timestamp `target` is in `engine.frame` (left referenced).
  private func decodeUntil(_ target: Int64, firstAfterReposition: Bool) throws -> Outcome {
    engine.skipUnreferencedBefore = index.source == .packets ? target : nil
    var first = firstAfterReposition
    while try engine.nextFrame() {
      let frame = engine.frame
      // Frames without any timestamp sit one median frame duration after the previous one, as
      // the index placed them (see FrameIndex.scanFrames).
      let untimed = lastDecoded.flatMap { previous in index.frameDurations.map { previous + $0.median } }
      guard let shown = frame.presentationTimestamp ?? untimed else {
        av_frame_unref(frame.pointer)
        continue
      }
      lastDecoded = shown
      if shown == target { return .found }
      av_frame_unref(frame.pointer)
      if shown > target { return first ? .overshot : .missed(shown) }
      first = false
    }
    lastDecoded = nil
    // Nothing at all after a seek: the demuxer landed past the keyframe (MPEG-TS seeks by bytes).
    return first ? .overshot : .ended
  }

  /// Positions the decoder at keyframe `position`, or at the start of the file.
  private func reposition(to keyframe: Int?) throws {
    repositions += 1
    lastDecoded = nil
    if let keyframe, engine.seek(to: index.pts[keyframe]) { return }
    try engine.restart()
  }
}

/// The frames at chosen positions, decoded lazily and in order by a ``VideoReader``; at most one
/// frame is held at a time.
public struct VideoFrames: AsyncSequence {
  public typealias Element = VideoFrame

  let reader: VideoReader
  let positions: [Int]

  public struct AsyncIterator: AsyncIteratorProtocol {
    let reader: VideoReader
    let positions: [Int]
    var next = 0

    public mutating func next() async throws -> VideoFrame? {
      guard next < positions.count else { return nil }
      defer { next += 1 }
      return try reader.frame(at: positions[next])
    }
  }

  public func makeAsyncIterator() -> AsyncIterator { AsyncIterator(reader: reader, positions: positions) }
}
