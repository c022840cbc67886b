import CFFmpeg
import Foundation

/// An audio stream decoded and resampled to mono float32 at one sample rate, read in chunks.
///
/// Any stream FFmpeg decodes works (WAV, FLAC, MP3, AAC/M4A, a video's audio track, ...). The
/// resampling is libswresample with its default options, converting layout, format and rate in
/// one step exactly as the `ffmpeg` CLI's automatically inserted resampler does, so the samples
/// equal `ffmpeg -i FILE -vn -ac 1 -ar RATE -f f32le -` bit for bit (channels without a layout
/// get FFmpeg's default layout for their count, as the CLI guesses it). Memory is bounded by one
/// decoded frame plus the chunk being returned.
///
/// Damaged audio is an error, never a gap: the decoder runs with error concealment turned into
/// failure. Not thread-safe: use one reader from one task at a time.
public final class AudioReader {
  /// The rate speech encoders (Whisper and its family) expect.
  public static let speechSampleRate = 16_000

  public let path: String
  /// Output samples per second.
  public let sampleRate: Int
  /// The stream being read, as probed.
  public let stream: AudioStreamInfo
  /// Output samples produced so far.
  public private(set) var samplesRead = 0

  private let input: MediaInput
  private let streamIndex: Int
  private let decoder: StreamDecoder
  private let packet: Packet
  private let frame: Frame
  private var resampler: Resampler? = nil
  /// Resampled samples not yet returned: at most one read's worth plus one decoded frame.
  private var pending: [Float] = []
  private var draining = false
  private var finished = false

  /// Opens the audio stream `streamIndex` (by default the one FFmpeg picks) of `path`.
  public init(path: String, sampleRate: Int = AudioReader.speechSampleRate, streamIndex: Int? = nil) throws {
    precondition(sampleRate > 0, "sample rate \(sampleRate)")
    input = try MediaInput(path: path)
    guard let chosen = streamIndex ?? input.bestStream(AVMEDIA_TYPE_AUDIO), chosen >= 0, chosen < input.streamCount,
      input.stream(chosen).pointee.codecpar.pointee.codec_type == AVMEDIA_TYPE_AUDIO
    else { throw MediaError.noAudioStream(path: path) }
    self.path = path
    self.sampleRate = sampleRate
    self.streamIndex = chosen
    input.readOnly(stream: chosen)
    stream = AudioStreamInfo(input.stream(chosen))
    decoder = try StreamDecoder(stream: input.stream(chosen), path: path, threads: 1, strict: true)
    packet = try Packet(path: path)
    frame = try Frame(path: path)
  }

  /// The next samples, at most `maxSamples` (fewer only at the end); nil once everything has been
  /// returned.
  public func read(maxSamples: Int) throws -> [Float]? {
    precondition(maxSamples > 0, "maxSamples \(maxSamples)")
    while pending.count < maxSamples && !finished {
      try decodeMore()
    }
    guard !pending.isEmpty else { return nil }
    let count = min(pending.count, maxSamples)
    let chunk = Array(pending[..<count])
    // Moves only the remainder (less than one decoded frame), keeping the buffer bounded.
    pending.removeFirst(count)
    samplesRead += count
    return chunk
  }

  /// Everything that is left, for clips known to be short; refuses more than `maxSamples`.
  public func readAll(maxSamples: Int) throws -> [Float] {
    var all: [Float] = []
    while let chunk = try read(maxSamples: max(1, min(maxSamples + 1 - all.count, sampleRate))) {
      all += chunk
      guard all.count <= maxSamples else {
        throw MediaError.tooLarge(path: path, reason: "more than \(maxSamples) samples at \(sampleRate) Hz")
      }
    }
    return all
  }

  /// Decodes one frame (or finishes the stream) and appends its resampled samples to `pending`.
  private func decodeMore() throws {
    let received = avcodec_receive_frame(decoder.context, frame.pointer)
    if received == 0 {
      defer { av_frame_unref(frame.pointer) }
      try resample(frame.pointer)
      return
    }
    if received == mm_averror_eof() {
      if let resampler { try resampler.flush(into: &pending) }
      finished = true
      return
    }
    guard received == mm_averror(EAGAIN), !draining else {
      throw MediaError.decodeFailed(path: path, reason: ffmpegReason(received))
    }
    try sendNextPacket()
  }

  private func sendNextPacket() throws {
    while true {
      let code = av_read_frame(input.context, packet.pointer)
      if code < 0 {
        if code != mm_averror_eof() {
          throw MediaError.truncated(path: path, reason: "reading stopped after \(decodedSeconds) s: \(ffmpegReason(code))")
        }
        draining = true
        _ = avcodec_send_packet(decoder.context, nil)
        return
      }
      defer { av_packet_unref(packet.pointer) }
      let p = packet.pointer
      // Packets the demuxer marks for discarding (edit-list pre-roll, encoder priming) still go to
      // the decoder, which needs them for its state and drops their output itself.
      guard Int(p.pointee.stream_index) == streamIndex, p.pointee.size > 0 else { continue }
      if p.isCorrupt {
        throw MediaError.truncated(path: path, reason: "damaged packet after \(decodedSeconds) s")
      }
      let sent = avcodec_send_packet(decoder.context, p)
      guard sent >= 0 else {
        throw MediaError.decodeFailed(path: path, reason: "after \(decodedSeconds) s: \(ffmpegReason(sent))")
      }
      return
    }
  }

  /// Seconds of output decoded so far (returned or pending), for messages.
  private var decodedSeconds: String {
    String(format: "%.3f", Double(samplesRead + pending.count) / Double(sampleRate))
  }

  private func resample(_ frame: UnsafeMutablePointer<AVFrame>) throws {
    let format = Resampler.Format(frame)
    if let resampler, resampler.input != format {
      // The stream changed layout, format or rate mid-way: finish the old conversion first, as
      // the CLI does when it rebuilds its filter graph.
      try resampler.flush(into: &pending)
      self.resampler = nil
    }
    if resampler == nil { resampler = try Resampler(input: format, outputRate: sampleRate, path: path) }
    try resampler!.convert(frame, into: &pending)
  }
}

/// One libswresample context: some input layout, format and rate to mono float32 at a fixed rate.
private final class Resampler {
  struct Format: Equatable {
    var channels: Int32, order: AVChannelOrder, mask: UInt64, sampleFormat: Int32, rate: Int32

    init(_ frame: UnsafeMutablePointer<AVFrame>) {
      let layout = frame.pointee.ch_layout
      channels = layout.nb_channels
      order = layout.order
      mask = layout.order == AV_CHANNEL_ORDER_NATIVE ? layout.u.mask : 0
      sampleFormat = frame.pointee.format
      rate = frame.pointee.sample_rate
    }
  }

  let input: Format
  private let context: OpaquePointer
  private let path: String

  init(input: Format, outputRate: Int, path: String) throws {
    self.input = input
    self.path = path
    var inputLayout = AVChannelLayout()
    if input.order == AV_CHANNEL_ORDER_NATIVE {
      av_channel_layout_from_mask(&inputLayout, input.mask)
    } else {
      // Channels without positions: FFmpeg's default layout for the count, as the CLI guesses.
      av_channel_layout_default(&inputLayout, input.channels)
    }
    defer { av_channel_layout_uninit(&inputLayout) }
    var mono = AVChannelLayout()
    av_channel_layout_default(&mono, 1)
    defer { av_channel_layout_uninit(&mono) }
    var context: OpaquePointer? = nil
    let allocated = swr_alloc_set_opts2(
      &context, &mono, AV_SAMPLE_FMT_FLT, Int32(outputRate), &inputLayout, AVSampleFormat(input.sampleFormat),
      input.rate, 0, nil)
    guard allocated >= 0, let context else {
      throw MediaError.unsupported(path: path, reason: "audio conversion: \(ffmpegReason(allocated))")
    }
    self.context = context
    let initialised = swr_init(context)
    guard initialised >= 0 else {
      throw MediaError.unsupported(path: path, reason: "audio conversion: \(ffmpegReason(initialised))")
    }
  }

  deinit {
    var owned: OpaquePointer? = context
    swr_free(&owned)
  }

  func convert(_ frame: UnsafeMutablePointer<AVFrame>, into output: inout [Float]) throws {
    let planes = frame.pointee.extended_data.map {
      UnsafeMutableRawPointer($0).assumingMemoryBound(to: UnsafePointer<UInt8>?.self)
    }
    try run(planes, count: frame.pointee.nb_samples, into: &output)
  }

  /// Hands out what the resampler still holds at the end of the stream.
  func flush(into output: inout [Float]) throws {
    while try run(nil, count: 0, into: &output) > 0 {}
  }

  @discardableResult
  private func run(_ planes: UnsafeMutablePointer<UnsafePointer<UInt8>?>?, count: Int32, into output: inout [Float]) throws -> Int {
    let capacity = Int(swr_get_out_samples(context, count))
    guard capacity > 0 else { return 0 }
    let start = output.count
    output.append(contentsOf: repeatElement(0, count: capacity))
    let converted = output.withUnsafeMutableBufferPointer { buffer -> Int32 in
      var target: UnsafeMutablePointer<UInt8>? = UnsafeMutableRawPointer(buffer.baseAddress! + start)
        .assumingMemoryBound(to: UInt8.self)
      return swr_convert(context, &target, Int32(capacity), planes, count)
    }
    guard converted >= 0 else {
      output.removeSubrange(start...)
      throw MediaError.decodeFailed(path: path, reason: "audio conversion: \(ffmpegReason(converted))")
    }
    output.removeSubrange((start + Int(converted))...)
    return Int(converted)
  }
}
