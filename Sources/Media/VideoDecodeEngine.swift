import CFFmpeg
import Foundation

/// Feeds one video stream's packets to its decoder and hands back frames in presentation order.
///
/// Every loop reads a packet, sends one, or receives a frame, so each call ends: at the end of the
/// file the decoder is flushed and then reports its own end.
final class VideoDecodeEngine {
  let path: String
  let streamIndex: Int
  private let threads: Int
  private(set) var input: MediaInput
  private var decoder: StreamDecoder
  private let packet: Packet
  /// The frame the last successful ``nextFrame()`` produced; the caller unreferences it.
  let frame: Frame
  /// How reading ended, once it has.
  private(set) var end = FrameIndex.End.endOfFile
  /// The decoder was told the stream ended and is handing out what it holds.
  private var draining = false
  /// After a seek, packets before the first keyframe are skipped: decoding must start at one.
  private var awaitingKeyframe = false
  /// Frames the decoder has handed out (decoded, not necessarily converted).
  private(set) var framesDecoded = 0
  /// Nothing has been read since the file was opened: decoding starts at the first packet.
  private(set) var isAtStart = true
  /// When set, packets shown before this timestamp may skip decoding if no other frame refers to
  /// them (FFmpeg's `skip_frame = nonref`): on the way to a target their pictures are not wanted,
  /// and reference frames, which later frames need, are always decoded. Frames at or after it
  /// always decode, as they may be requested next. Requires packet timestamps equal to frame
  /// timestamps (indexes built from packets).
  var skipUnreferencedBefore: Int64? = nil

  init(path: String, streamIndex: Int, threads: Int) throws {
    self.path = path
    self.streamIndex = streamIndex
    self.threads = threads
    input = try MediaInput(path: path)
    decoder = try Self.openDecoder(input, streamIndex: streamIndex, threads: threads)
    packet = try Packet(path: path)
    frame = try Frame(path: path)
  }

  private static func openDecoder(_ input: MediaInput, streamIndex: Int, threads: Int) throws -> StreamDecoder {
    input.readOnly(stream: streamIndex)
    return try StreamDecoder(stream: input.stream(streamIndex), path: input.path, threads: threads, strict: true)
  }

  /// Decodes the next frame into ``frame``; false once the stream has no more frames.
  func nextFrame() throws -> Bool {
    while true {
      let received = avcodec_receive_frame(decoder.context, frame.pointer)
      if received == 0 {
        framesDecoded += 1
        return true
      }
      if received == mm_averror_eof() { return false }
      guard received == mm_averror(EAGAIN) else {
        throw MediaError.decodeFailed(path: path, reason: ffmpegReason(received))
      }
      if draining { return false }
      try sendNextPacket()
    }
  }

  /// Sends the stream's next packet, or the end-of-stream signal when there is none (or the rest of
  /// the file cannot be read, which the frame index reports the same way).
  private func sendNextPacket() throws {
    isAtStart = false
    while true {
      let code = av_read_frame(input.context, packet.pointer)
      if code < 0 {
        if code != mm_averror_eof() { end = .readError(ffmpegReason(code)) }
        try finishStream()
        return
      }
      defer { av_packet_unref(packet.pointer) }
      let p = packet.pointer
      // Packets the demuxer marks for discarding (edit-list pre-roll) still go to the decoder: later
      // frames may refer to them, and the decoder drops their pictures itself.
      guard Int(p.pointee.stream_index) == streamIndex, p.pointee.size > 0 else { continue }
      if p.isCorrupt {
        end = .damagedPacket(pts: p.pointee.pts == mm_av_nopts_value() ? nil : p.pointee.pts)
        try finishStream()
        return
      }
      if awaitingKeyframe {
        guard p.isKeyframe else { continue }
        awaitingKeyframe = false
      }
      let skippable = skipUnreferencedBefore.map { p.pointee.pts != mm_av_nopts_value() && p.pointee.pts < $0 } ?? false
      decoder.context.pointee.skip_frame = skippable ? AVDISCARD_NONREF : AVDISCARD_DEFAULT
      let sent = avcodec_send_packet(decoder.context, p)
      guard sent >= 0 else {
        let at = p.pointee.pts == mm_av_nopts_value() ? "" : " at pts \(p.pointee.pts)"
        throw MediaError.decodeFailed(path: path, reason: "packet\(at): \(ffmpegReason(sent))")
      }
      return
    }
  }

  private func finishStream() throws {
    draining = true
    let sent = avcodec_send_packet(decoder.context, nil)
    guard sent >= 0 || sent == mm_averror_eof() else {
      throw MediaError.decodeFailed(path: path, reason: ffmpegReason(sent))
    }
  }

  /// Moves to the last keyframe at or before `pts` as the demuxer sees it, dropping what the
  /// decoder holds; false when the demuxer cannot seek.
  func seek(to pts: Int64) -> Bool {
    _ = loggedReason()
    guard av_seek_frame(input.context, Int32(streamIndex), pts, AVSEEK_FLAG_BACKWARD) >= 0 else { return false }
    resetDecoder()
    return true
  }

  /// Starts over from the first packet by reopening the file: the one move every demuxer supports.
  func restart() throws {
    input = try MediaInput(path: path)
    decoder = try Self.openDecoder(input, streamIndex: streamIndex, threads: threads)
    draining = false
    awaitingKeyframe = false
    isAtStart = true
    end = .endOfFile
  }

  private func resetDecoder() {
    isAtStart = false
    avcodec_flush_buffers(decoder.context)
    draining = false
    awaitingKeyframe = true
    end = .endOfFile
  }
}
