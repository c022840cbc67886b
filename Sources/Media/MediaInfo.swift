import CFFmpeg
import Foundation

/// What a media file holds, as `mmencode info` reports it. Times are in seconds.
public struct MediaInfo: Codable, Sendable, Equatable {
  public let path: String
  /// Size in bytes.
  public let fileSize: Int
  /// FFmpeg's demuxer name, e.g. `mov,mp4,m4a,3gp,3g2,mj2`.
  public let container: String
  public let containerLongName: String?
  public let duration: Double?
  public let startTime: Double?
  /// Bits per second over the whole file, when known.
  public let bitRate: Int?
  public let video: [VideoStreamInfo]
  public let audio: [AudioStreamInfo]
  /// Streams that are neither (subtitles, data, attachments).
  public let otherStreamCount: Int

  /// Probes `path`: container and stream parameters, plus, for each video stream, a frame index
  /// built by reading every packet (so this reads the whole file, without decoding).
  public static func probe(path: String) throws -> MediaInfo {
    let input = try MediaInput(path: path)
    let format = input.context.pointee
    var video: [VideoStreamInfo] = []
    var audio: [AudioStreamInfo] = []
    var others = 0
    for i in 0..<input.streamCount {
      let stream = input.stream(i)
      switch stream.pointee.codecpar.pointee.codec_type {
      case AVMEDIA_TYPE_VIDEO:
        guard (stream.pointee.disposition & AV_DISPOSITION_ATTACHED_PIC) == 0 else {
          video.append(VideoStreamInfo(stream, index: nil))
          continue
        }
        // A stream that cannot be indexed is still described, with the reason.
        do {
          video.append(VideoStreamInfo(stream, index: try FrameIndex.build(path: path, streamIndex: i)))
        } catch let error as MediaError {
          video.append(VideoStreamInfo(stream, index: nil, indexFailure: error.localizedDescription))
        }
      case AVMEDIA_TYPE_AUDIO:
        audio.append(AudioStreamInfo(stream))
      default:
        others += 1
      }
    }
    let size = (try? FileManager.default.attributesOfItem(atPath: path))?[.size] as? Int
    return MediaInfo(
      path: path, fileSize: size ?? 0, container: String(cString: format.iformat.pointee.name),
      containerLongName: format.iformat.pointee.long_name.map { String(cString: $0) },
      duration: format.duration == mm_av_nopts_value() ? nil : Double(format.duration) / Double(AV_TIME_BASE),
      startTime: format.start_time == mm_av_nopts_value()
        ? nil : Double(format.start_time) / Double(AV_TIME_BASE),
      bitRate: format.bit_rate > 0 ? Int(format.bit_rate) : nil,
      video: video, audio: audio, otherStreamCount: others)
  }
}

/// One video stream. Frame counts: ``containerFrameCount`` is what the header claims (often absent
/// or wrong); ``indexedFrameCount`` is what a packet scan found (see ``FrameIndex``).
public struct VideoStreamInfo: Codable, Sendable, Equatable {
  /// Position among the file's streams.
  public let index: Int
  public let codec: String
  public let codecLongName: String?
  public let profile: String?
  /// Decoded picture size, before orientation.
  public let width: Int
  public let height: Int
  /// Picture size as displayed, after ``orientation``.
  public let displayWidth: Int
  public let displayHeight: Int
  public let sampleAspectRatio: Rational?
  public let pixelFormat: String?
  public let timeBase: Rational
  /// FFmpeg's `r_frame_rate`: the lowest rate all timestamps fit (a guess for VFR streams).
  public let rFrameRate: Rational
  /// FFmpeg's `avg_frame_rate`: frames over duration, as the container or probe sees it.
  public let avgFrameRate: Rational
  public let startTime: Double?
  public let startPTS: Int64?
  public let duration: Double?
  /// The container's `nb_frames`; nil when it does not say.
  public let containerFrameCount: Int?
  /// Frames found by the packet scan; nil for attached pictures (cover art) and streams that
  /// could not be indexed (``indexProblem`` says why).
  public let indexedFrameCount: Int?
  public let keyframeCount: Int?
  /// From the scanned timestamps (see ``FrameIndex/isVariableFrameRate``).
  public let isVariableFrameRate: Bool?
  /// Smallest, median and largest gap between consecutive frames.
  public let frameDuration: FrameDurations?
  /// How the index was built (`packets`, or `decodedFrames` when packets lack timestamps).
  public let indexSource: FrameIndex.Source?
  /// Why the scan stopped early (truncation, damage) or failed; nil when it read the whole stream.
  public let indexProblem: String?
  /// Counter-clockwise angle of the display matrix (`av_display_rotation_get`); nil without one.
  public let displayMatrixRotation: Double?
  /// How frames are turned for display; nil when the matrix rotates by an angle that is not a
  /// multiple of 90 degrees (such streams cannot be decoded to frames).
  public let orientation: Orientation?
  public let color: ColorTags
  /// The conversion ``ColorSettings/default`` applies to this stream.
  public let resolvedColor: ResolvedColor
  /// The decoder may reorder frames (B-frames or similar); FFmpeg's `has_b_frames`/`video_delay`.
  public let hasReordering: Bool
  /// Cover art in an audio file: a still, not a video.
  public let isAttachedPicture: Bool

  init(_ stream: UnsafeMutablePointer<AVStream>, index frameIndex: FrameIndex?, indexFailure: String? = nil) {
    let parameters = stream.pointee.codecpar.pointee
    let nothing = mm_av_nopts_value()
    let timeBase = Rational(stream.pointee.time_base)
    let seconds = { (ticks: Int64) -> Double? in
      ticks == nothing ? nil : Double(ticks) * Double(timeBase.numerator) / Double(max(timeBase.denominator, 1))
    }
    let orientation = displayOrientation(of: stream)
    index = Int(stream.pointee.index)
    codec = String(cString: avcodec_get_name(parameters.codec_id))
    codecLongName = avcodec_descriptor_get(parameters.codec_id).flatMap { $0.pointee.long_name }
      .map { String(cString: $0) }
    profile = avcodec_profile_name(parameters.codec_id, parameters.profile).map { String(cString: $0) }
    width = Int(parameters.width)
    height = Int(parameters.height)
    let swaps = orientation?.swapsAxes ?? false
    displayWidth = swaps ? height : width
    displayHeight = swaps ? width : height
    let aspect = parameters.sample_aspect_ratio
    sampleAspectRatio = aspect.num > 0 && aspect.den > 0 ? Rational(aspect) : nil
    pixelFormat = av_get_pix_fmt_name(AVPixelFormat(parameters.format)).map { String(cString: $0) }
    self.timeBase = timeBase
    rFrameRate = Rational(stream.pointee.r_frame_rate)
    avgFrameRate = Rational(stream.pointee.avg_frame_rate)
    startPTS = stream.pointee.start_time == nothing ? nil : stream.pointee.start_time
    startTime = seconds(stream.pointee.start_time)
    duration = seconds(stream.pointee.duration)
    containerFrameCount = stream.pointee.nb_frames > 0 ? Int(stream.pointee.nb_frames) : nil
    indexedFrameCount = frameIndex?.count
    keyframeCount = frameIndex?.keyframes.count
    isVariableFrameRate = frameIndex?.isVariableFrameRate
    frameDuration = frameIndex.flatMap { index in
      index.frameDurations.map {
        FrameDurations(
          min: index.seconds(pts: $0.min), median: index.seconds(pts: $0.median), max: index.seconds(pts: $0.max))
      }
    }
    indexSource = frameIndex?.source
    indexProblem = indexFailure ?? frameIndex?.end.problem
    displayMatrixRotation = displayRotation(of: stream)
    self.orientation = orientation
    color = ColorTags(parameters)
    resolvedColor = ColorSettings.default.resolve(
      format: AVPixelFormat(parameters.format), colorspace: parameters.color_space,
      colorRange: parameters.color_range, width: width, height: height)
    hasReordering = parameters.video_delay > 0
    isAttachedPicture = (stream.pointee.disposition & AV_DISPOSITION_ATTACHED_PIC) != 0
  }
}

/// Gaps between consecutive frames, in seconds.
public struct FrameDurations: Codable, Sendable, Equatable {
  public let min: Double
  public let median: Double
  public let max: Double
}

/// A stream's colour description, as FFmpeg names the tags (`unknown` when untagged).
public struct ColorTags: Codable, Sendable, Equatable {
  public let matrix: String
  public let range: String
  public let primaries: String
  public let transfer: String
  public let chromaLocation: String

  init(_ parameters: AVCodecParameters) {
    let name = { (text: UnsafePointer<CChar>?) in text.map { String(cString: $0) } ?? "unknown" }
    matrix = name(av_color_space_name(parameters.color_space))
    range = name(av_color_range_name(parameters.color_range))
    primaries = name(av_color_primaries_name(parameters.color_primaries))
    transfer = name(av_color_transfer_name(parameters.color_trc))
    chromaLocation = name(av_chroma_location_name(parameters.chroma_location))
  }
}

/// One audio stream.
public struct AudioStreamInfo: Codable, Sendable, Equatable {
  public let index: Int
  public let codec: String
  public let codecLongName: String?
  public let sampleRate: Int
  public let channels: Int
  /// FFmpeg's description, e.g. `stereo`, `5.1(side)`, `2 channels`.
  public let channelLayout: String
  public let sampleFormat: String?
  public let startTime: Double?
  public let duration: Double?
  public let bitRate: Int?

  init(_ stream: UnsafeMutablePointer<AVStream>) {
    var parameters = stream.pointee.codecpar.pointee
    let nothing = mm_av_nopts_value()
    let timeBase = stream.pointee.time_base
    let seconds = { (ticks: Int64) -> Double? in
      ticks == nothing || timeBase.den == 0 ? nil : Double(ticks) * Double(timeBase.num) / Double(timeBase.den)
    }
    index = Int(stream.pointee.index)
    codec = String(cString: avcodec_get_name(parameters.codec_id))
    codecLongName = avcodec_descriptor_get(parameters.codec_id).flatMap { $0.pointee.long_name }
      .map { String(cString: $0) }
    sampleRate = Int(parameters.sample_rate)
    channels = Int(parameters.ch_layout.nb_channels)
    var text = [CChar](repeating: 0, count: 128)
    let described = av_channel_layout_describe(&parameters.ch_layout, &text, text.count)
    channelLayout = described > 0 ? text.withUnsafeBufferPointer { String(cString: $0.baseAddress!) } : "unknown"
    sampleFormat = av_get_sample_fmt_name(AVSampleFormat(parameters.format)).map { String(cString: $0) }
    startTime = seconds(stream.pointee.start_time)
    duration = seconds(stream.pointee.duration)
    bitRate = parameters.bit_rate > 0 ? Int(parameters.bit_rate) : nil
  }
}

/// The stream's display matrix (nine values), if it has one.
private func displayMatrix(of stream: UnsafeMutablePointer<AVStream>) -> [Int32]? {
  var size: Int = 0
  guard let data = av_stream_get_side_data(stream, AV_PKT_DATA_DISPLAYMATRIX, &size),
    size >= 9 * MemoryLayout<Int32>.size
  else { return nil }
  return (0..<9).map { UnsafeRawPointer(data).loadUnaligned(fromByteOffset: $0 * 4, as: Int32.self) }
}

/// How the stream's pictures are shown: identity without a display matrix, nil when the matrix
/// rotates by an angle that is not a multiple of 90 degrees.
func displayOrientation(of stream: UnsafeMutablePointer<AVStream>) -> Orientation? {
  guard let matrix = displayMatrix(of: stream) else { return .identity }
  return Orientation(displayMatrix: matrix)
}

/// The counter-clockwise angle of the stream's display matrix (`av_display_rotation_get`).
func displayRotation(of stream: UnsafeMutablePointer<AVStream>) -> Double? {
  displayMatrix(of: stream).map { matrix in matrix.withUnsafeBufferPointer { av_display_rotation_get($0.baseAddress!) } }
}
