import CFFmpeg
import Foundation

/// The frames of one video stream in presentation order.
///
/// Built by reading every packet of the stream without decoding (torchcodec's "exact" mode), so it
/// never trusts a container's frame count, and frame `i` is the `i`-th frame shown. Containers
/// whose packets lack presentation timestamps (AVI with B-frames) are indexed by decoding instead,
/// still without converting any picture.
public struct FrameIndex: Sendable, Equatable {
  /// How the timestamps were found.
  public enum Source: String, Codable, Sendable {
    /// From packet timestamps alone.
    case packets
    /// By decoding every frame, because packets lacked presentation timestamps.
    case decodedFrames
  }

  /// Why the scan stopped.
  public enum End: Equatable, Sendable {
    /// It read the whole stream.
    case endOfFile
    /// Reading failed before the end (typically a truncated file); frames after are not indexed.
    case readError(String)
    /// The demuxer flagged a packet as damaged (cut short, or failing a checksum); it and the
    /// frames after it are not indexed.
    case damagedPacket(pts: Int64?)

    /// One line for people, nil for a clean end.
    public var problem: String? {
      switch self {
      case .endOfFile: nil
      case .readError(let reason): "reading stopped early: \(reason)"
      case .damagedPacket(let pts): "damaged packet\(pts.map { " at pts \($0)" } ?? ""); frames from there on are not indexed"
      }
    }
  }

  /// Indexing refuses streams with more frames (about 46 hours at 60 fps): beyond it a count is
  /// far more likely a damaged or hostile file than a real video.
  public static let maximumFrameCount = 10_000_000

  /// The unit of ``pts``.
  public let timeBase: Rational
  /// Presentation timestamps in ``timeBase`` units, strictly increasing; the position of a value
  /// is the frame's index.
  public let pts: [Int64]
  /// Positions of keyframes (frames decoding can start from), increasing.
  public let keyframes: [Int]
  public let source: Source
  public let end: End
  /// Frames dropped from the index because an earlier frame had the same timestamp.
  public let duplicateTimestamps: Int

  public init(timeBase: Rational, pts: [Int64], keyframes: [Int], source: Source, end: End, duplicateTimestamps: Int = 0) {
    self.timeBase = timeBase
    self.pts = pts
    self.keyframes = keyframes
    self.source = source
    self.end = end
    self.duplicateTimestamps = duplicateTimestamps
  }

  /// Number of frames.
  public var count: Int { pts.count }

  /// Frame `position`'s presentation time in seconds (pts x time base; not shifted by the start
  /// time, so it matches what FFmpeg and torchcodec report).
  public func seconds(at position: Int) -> Double { seconds(pts: pts[position]) }

  func seconds(pts value: Int64) -> Double {
    Double(value) * Double(timeBase.numerator) / Double(timeBase.denominator)
  }

  /// The position of the frame with presentation timestamp `value`, if there is one.
  public func position(pts value: Int64) -> Int? {
    let i = lowerBound(value)
    return i < pts.count && pts[i] == value ? i : nil
  }

  /// The frame on screen at `seconds`: the last one starting at or before it, provided `seconds` is
  /// before the last frame ends (its duration taken as the median frame duration).
  public func position(playedAt seconds: Double) -> Int? {
    guard let first = pts.first, let last = pts.last else { return nil }
    let ticks = seconds * Double(timeBase.denominator) / Double(timeBase.numerator)
    let lastEnd = Double(last) + Double(frameDurations?.median ?? 0)
    guard ticks >= Double(first), ticks < lastEnd || (ticks == Double(last)) else { return nil }
    let upper = lowerBound(Int64(ticks.rounded(.down)) + 1)
    return upper - 1
  }

  /// The position of the first frame after timestamp `value`.
  func position(after value: Int64) -> Int { lowerBound(value + 1) }

  /// The keyframe to start decoding from to reach `position`: the last keyframe at or before it;
  /// nil when the stream does not start with one.
  func keyframe(atOrBefore position: Int) -> Int? {
    var low = 0
    var high = keyframes.count
    while low < high {
      let mid = (low + high) / 2
      if keyframes[mid] <= position { low = mid + 1 } else { high = mid }
    }
    return low == 0 ? nil : keyframes[low - 1]
  }

  /// Smallest, median and largest difference between consecutive timestamps, in ticks; nil for
  /// fewer than two frames.
  public var frameDurations: (min: Int64, median: Int64, max: Int64)? {
    guard pts.count >= 2 else { return nil }
    let gaps = zip(pts.dropFirst(), pts).map { $0 - $1 }.sorted()
    return (gaps.first!, gaps[gaps.count / 2], gaps.last!)
  }

  /// Whether frame durations vary by more than timestamp rounding explains: more than one tick
  /// and more than 1% of the median (29.97 fps in a 1 ms time base alternates 33 and 34 ticks and
  /// is constant).
  public var isVariableFrameRate: Bool {
    guard let d = frameDurations else { return false }
    return d.max - d.min > max(1, d.median / 100)
  }

  private func lowerBound(_ value: Int64) -> Int {
    var low = 0
    var high = pts.count
    while low < high {
      let mid = (low + high) / 2
      if pts[mid] < value { low = mid + 1 } else { high = mid }
    }
    return low
  }
}

extension FrameIndex {
  /// Indexes video stream `streamIndex` of `path` (see the type's documentation).
  static func build(path: String, streamIndex: Int) throws -> FrameIndex {
    let input = try MediaInput(path: path)
    if let index = try scanPackets(input, streamIndex: streamIndex) { return index }
    return try scanFrames(path: path, streamIndex: streamIndex)
  }

  /// The index from packet timestamps, or nil when some packet has no presentation timestamp.
  private static func scanPackets(_ input: MediaInput, streamIndex: Int) throws -> FrameIndex? {
    input.readOnly(stream: streamIndex)
    let stream = input.stream(streamIndex)
    let packet = try Packet(path: input.path)
    let nothing = mm_av_nopts_value()
    var entries: [(pts: Int64, key: Bool)] = []
    var end = End.endOfFile
    _ = loggedReason()
    while true {
      let code = av_read_frame(input.context, packet.pointer)
      if code == mm_averror_eof() { break }
      if code < 0 {
        end = .readError(ffmpegReason(code))
        break
      }
      defer { av_packet_unref(packet.pointer) }
      let p = packet.pointer
      guard Int(p.pointee.stream_index) == streamIndex, p.pointee.size > 0, !p.isDiscarded else { continue }
      if p.isCorrupt {
        end = .damagedPacket(pts: p.pointee.pts == nothing ? nil : p.pointee.pts)
        break
      }
      guard p.pointee.pts != nothing else { return nil }
      entries.append((p.pointee.pts, p.isKeyframe))
      guard entries.count <= maximumFrameCount else {
        throw MediaError.tooLarge(path: input.path, reason: "more than \(maximumFrameCount) frames")
      }
    }
    return make(entries, timeBase: Rational(stream.pointee.time_base), source: .packets, end: end)
  }

  /// The index from decoded frames' timestamps, for streams whose packets lack them.
  ///
  /// A frame the decoder hands out with no timestamp at all (the last frame of an AVI with
  /// B-frames, flushed out at the end) is placed one median frame duration after the frame before
  /// it, when the stream ended cleanly, and left out otherwise; ``VideoReader`` gives such frames
  /// the same timestamp when it decodes them.
  private static func scanFrames(path: String, streamIndex: Int) throws -> FrameIndex {
    let engine = try VideoDecodeEngine(path: path, streamIndex: streamIndex, threads: 1)
    var entries: [(pts: Int64?, key: Bool)] = []
    while try engine.nextFrame() {
      let frame = engine.frame
      defer { av_frame_unref(frame.pointer) }
      entries.append((frame.presentationTimestamp, frame.pointer.pointee.key_frame != 0))
      guard entries.count <= maximumFrameCount else {
        throw MediaError.tooLarge(path: path, reason: "more than \(maximumFrameCount) frames")
      }
    }
    let known = entries.compactMap(\.pts)
    let median = FrameIndex.medianGap(known) ?? 1
    var filled: [(pts: Int64, key: Bool)] = []
    for entry in entries {
      if let pts = entry.pts {
        filled.append((pts, entry.key))
      } else if engine.end != .endOfFile {
        // In a cut or damaged stream the frames before this one may be missing, so "one frame
        // after the previous" is a guess that can collide with a lost frame's time: leave it out.
        continue
      } else if let previous = filled.last?.pts {
        filled.append((previous + median, entry.key))
      } else {
        throw MediaError.unsupported(
          path: path,
          reason: "frames carry no timestamps (a raw elementary stream?); put it in a container first, "
            + "e.g. ffmpeg -i FILE -c copy OUT.mkv")
      }
    }
    let timeBase = Rational(engine.input.stream(streamIndex).pointee.time_base)
    return make(filled, timeBase: timeBase, source: .decodedFrames, end: engine.end)
  }

  /// The median gap between consecutive values of `timestamps` in decoding output order, which is
  /// presentation order.
  static func medianGap(_ timestamps: [Int64]) -> Int64? {
    guard timestamps.count >= 2 else { return nil }
    let gaps = zip(timestamps.dropFirst(), timestamps).map { $0 - $1 }.sorted()
    return gaps[gaps.count / 2]
  }

  private static func make(
    _ entries: [(pts: Int64, key: Bool)], timeBase: Rational, source: Source, end: End
  ) -> FrameIndex {
    // Stable, so of two packets with one timestamp the first read wins.
    let sorted = entries.enumerated().sorted { ($0.element.pts, $0.offset) < ($1.element.pts, $1.offset) }
    var pts: [Int64] = []
    var keyframes: [Int] = []
    pts.reserveCapacity(sorted.count)
    for (_, entry) in sorted where entry.pts != pts.last {
      if entry.key { keyframes.append(pts.count) }
      pts.append(entry.pts)
    }
    return FrameIndex(
      timeBase: timeBase, pts: pts, keyframes: keyframes, source: source, end: end,
      duplicateTimestamps: sorted.count - pts.count)
  }
}
