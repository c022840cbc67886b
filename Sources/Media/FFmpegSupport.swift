import CFFmpeg
import Core
import Foundation

/// FFmpeg's process-wide set-up, done once before any use: its log goes to the per-thread capture
/// in the CFFmpeg shim instead of stderr, so errors can quote it and nothing is printed.
enum FFmpegRuntime {
  private static let installed: Void = mm_log_capture_install()
  static func prepare() { _ = installed }
}

/// FFmpeg's text for `code`, with the last error FFmpeg logged on this thread when that adds
/// something (for example "Invalid data found when processing input (moov atom not found)").
/// Consumes the logged message.
func ffmpegReason(_ code: Int32) -> String {
  var buffer = [CChar](repeating: 0, count: 256)
  av_strerror(code, &buffer, buffer.count)
  let text = buffer.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
  let logged = loggedReason()
  return logged.map { $0 == text ? text : "\(text) (\($0))" } ?? text
}

/// The last error FFmpeg logged on this thread since the last call, if any; consumes it.
func loggedReason() -> String? {
  let message = String(cString: mm_log_last_message())
  mm_log_clear()
  return message.isEmpty ? nil : message
}

/// Library versions that determine decoded pixels and samples; a cache recipe should include them.
public enum MediaLibraries {
  /// For example `["libavcodec": "59.37.100", "libavformat": ..., "libswscale": ..., ...]`.
  public static var versions: [String: String] {
    func text(_ v: UInt32) -> String { "\(v >> 16).\((v >> 8) & 0xff).\(v & 0xff)" }
    return [
      "libavformat": text(avformat_version()), "libavcodec": text(avcodec_version()),
      "libavutil": text(avutil_version()), "libswscale": text(swscale_version()),
      "libswresample": text(swresample_version()),
    ]
  }
}

/// A rational number as FFmpeg uses for time bases and frame rates.
public struct Rational: Codable, Hashable, Sendable, CustomStringConvertible {
  public let numerator: Int
  public let denominator: Int

  public init(_ numerator: Int, _ denominator: Int) {
    self.numerator = numerator
    self.denominator = denominator
  }

  init(_ value: AVRational) { self.init(Int(value.num), Int(value.den)) }

  /// The value as a double; nil when the denominator is 0 (FFmpeg's "unknown").
  public var value: Double? {
    denominator == 0 ? nil : Double(numerator) / Double(denominator)
  }

  public var description: String { "\(numerator)/\(denominator)" }

  /// Encoded as FFmpeg and ffprobe print it: `"1/12800"`.
  public func encode(to encoder: Encoder) throws {
    var container = encoder.singleValueContainer()
    try container.encode(description)
  }

  public init(from decoder: Decoder) throws {
    let container = try decoder.singleValueContainer()
    let text = try container.decode(String.self)
    let parts = text.split(separator: "/", omittingEmptySubsequences: false)
    guard parts.count == 2, let numerator = Int(parts[0]), let denominator = Int(parts[1]) else {
      throw DecodingError.dataCorruptedError(in: container, debugDescription: "not a rational: \(text)")
    }
    self.init(numerator, denominator)
  }
}

/// Checks that `path` names a readable, non-empty regular file, so that such problems get precise
/// errors rather than FFmpeg's generic ones.
func checkReadableFile(_ path: String) throws {
  var status = stat()
  guard stat(path, &status) == 0 else { throw MediaError.unreadable(path: path, reason: errnoText()) }
  if (status.st_mode & S_IFMT) == S_IFDIR {
    throw MediaError.unreadable(path: path, reason: "is a directory")
  }
  guard access(path, R_OK) == 0 else { throw MediaError.unreadable(path: path, reason: errnoText()) }
  if status.st_size == 0 { throw MediaError.notMedia(path: path, reason: "the file is empty") }
}

/// An opened input file: the demuxer context and its streams.
final class MediaInput {
  let path: String
  let context: UnsafeMutablePointer<AVFormatContext>

  /// Opens `path` as a local file (never another FFmpeg protocol, whatever the name looks like)
  /// and reads the stream parameters.
  init(path: String) throws {
    FFmpegRuntime.prepare()
    try checkReadableFile(path)
    _ = loggedReason()
    var options: OpaquePointer? = nil
    // Demuxers that open further URLs (playlists, concat) may only open local files, and image
    // file names are never read as numbered-sequence patterns.
    av_dict_set(&options, "protocol_whitelist", "file", 0)
    av_dict_set(&options, "pattern_type", "none", 0)
    var opened: UnsafeMutablePointer<AVFormatContext>? = nil
    let code = avformat_open_input(&opened, "file:" + path, nil, &options)
    av_dict_free(&options)
    guard code >= 0, let opened else {
      throw MediaError.notMedia(path: path, reason: ffmpegReason(code))
    }
    self.path = path
    self.context = opened
    let found = avformat_find_stream_info(opened, nil)
    guard found >= 0 else { throw MediaError.notMedia(path: path, reason: ffmpegReason(found)) }
  }

  deinit {
    var opened: UnsafeMutablePointer<AVFormatContext>? = context
    avformat_close_input(&opened)
  }

  var streamCount: Int { Int(context.pointee.nb_streams) }

  func stream(_ index: Int) -> UnsafeMutablePointer<AVStream> { context.pointee.streams[index]! }

  /// The stream FFmpeg would pick for `type` (the CLI's default), or nil when there is none.
  func bestStream(_ type: AVMediaType) -> Int? {
    let index = av_find_best_stream(context, type, -1, -1, nil, 0)
    return index >= 0 ? Int(index) : nil
  }

  /// Makes the demuxer skip every stream except `index`, so scans read only that stream's packets.
  func readOnly(stream index: Int) {
    for i in 0..<streamCount {
      stream(i).pointee.discard = i == index ? AVDISCARD_DEFAULT : AVDISCARD_ALL
    }
  }
}

/// An owned `AVPacket`.
final class Packet {
  let pointer: UnsafeMutablePointer<AVPacket>

  init(path: String) throws {
    guard let pointer = av_packet_alloc() else {
      throw MediaError.decodeFailed(path: path, reason: "out of memory")
    }
    self.pointer = pointer
  }

  deinit {
    var owned: UnsafeMutablePointer<AVPacket>? = pointer
    av_packet_free(&owned)
  }
}

/// An owned `AVFrame`.
final class Frame {
  let pointer: UnsafeMutablePointer<AVFrame>

  init(path: String) throws {
    guard let pointer = av_frame_alloc() else {
      throw MediaError.decodeFailed(path: path, reason: "out of memory")
    }
    self.pointer = pointer
  }

  deinit {
    var owned: UnsafeMutablePointer<AVFrame>? = pointer
    av_frame_free(&owned)
  }

  /// The frame's presentation timestamp: its own, else FFmpeg's best guess (streams such as AVI
  /// with B-frames carry only decode timestamps).
  var presentationTimestamp: Int64? {
    let nothing = mm_av_nopts_value()
    if pointer.pointee.pts != nothing { return pointer.pointee.pts }
    let guess = pointer.pointee.best_effort_timestamp
    return guess != nothing ? guess : nil
  }

  /// Whether the decoder reports this frame as damaged: concealed errors, or missing references.
  var isDamaged: Bool {
    pointer.pointee.decode_error_flags != 0 || (pointer.pointee.flags & AV_FRAME_FLAG_CORRUPT) != 0
  }
}

/// An opened decoder for one stream.
final class StreamDecoder {
  let context: UnsafeMutablePointer<AVCodecContext>

  /// - Parameters:
  ///   - threads: decoder threads; 0 lets FFmpeg choose.
  ///   - strict: abort on bitstream errors instead of concealing them, so a damaged frame becomes
  ///     an error rather than plausible-looking garbage.
  init(stream: UnsafeMutablePointer<AVStream>, path: String, threads: Int, strict: Bool) throws {
    let parameters = stream.pointee.codecpar!
    let codecName = String(cString: avcodec_get_name(parameters.pointee.codec_id))
    guard let codec = avcodec_find_decoder(parameters.pointee.codec_id) else {
      throw MediaError.unsupported(path: path, reason: "no decoder for codec '\(codecName)'")
    }
    guard let context = avcodec_alloc_context3(codec) else {
      throw MediaError.decodeFailed(path: path, reason: "out of memory")
    }
    self.context = context
    let copied = avcodec_parameters_to_context(context, parameters)
    guard copied >= 0 else {
      throw MediaError.unsupported(path: path, reason: "\(codecName): \(ffmpegReason(copied))")
    }
    context.pointee.pkt_timebase = stream.pointee.time_base
    context.pointee.thread_count = Int32(threads)
    if strict {
      context.pointee.err_recognition |= AV_EF_BITSTREAM | AV_EF_BUFFER | AV_EF_EXPLODE
    }
    let opened = avcodec_open2(context, codec, nil)
    guard opened >= 0 else {
      throw MediaError.unsupported(path: path, reason: "\(codecName) decoder: \(ffmpegReason(opened))")
    }
  }

  deinit {
    var owned: UnsafeMutablePointer<AVCodecContext>? = context
    avcodec_free_context(&owned)
  }
}

extension UnsafeMutablePointer where Pointee == AVPacket {
  var isKeyframe: Bool { (pointee.flags & AV_PKT_FLAG_KEY) != 0 }
  /// Demuxers mark packets to drop (edit-list pre-roll, for example); they are not frames.
  var isDiscarded: Bool { (pointee.flags & AV_PKT_FLAG_DISCARD) != 0 }
  var isCorrupt: Bool { (pointee.flags & AV_PKT_FLAG_CORRUPT) != 0 }
}
