import CFFmpeg
import CPNG
import Foundation

/// Still images as Pillow's `Image.open` presents them.
///
/// PNG goes through libpng and gives exactly Pillow 13's pixels (mode mapping in the CPNG shim:
/// palette -> RGB, or RGBA with a tRNS chunk; 1/2/4-bit gray scaled to 8 bits; 16-bit samples
/// -> their high byte, except 16-bit gray, Pillow "I;16", which becomes min(value, 255) as Pillow's
/// `.convert("L")`/`("RGB")` does; 16-bit gray+alpha -> RGBA, as Pillow opens it).
///
/// Everything else (JPEG, WebP, BMP, GIF, TIFF, ...) goes through FFmpeg's image decoders. JPEG
/// (4:2:0, 4:2:2, 4:4:4) and lossy WebP pictures become RGB as libjpeg-turbo and libwebp make
/// them (``PillowColor``); other pictures go through libswscale with ``ColorSettings/default``.
/// Gray stays gray; alpha is kept when some pixel is not opaque (FFmpeg decodes lossless WebP
/// with an alpha plane even when the file has none, which Pillow opens as RGB) and for palettes
/// with a transparent entry. Measured against Pillow 13 on the fixtures: PNG, BMP, TIFF, lossless
/// and lossy WebP are identical; JPEG is within 3 levels (FFmpeg's inverse DCT is not libjpeg's);
/// transparent GIF pixels are white (FFmpeg's `trans_color`) where Pillow keeps the palette colour
/// under alpha 0. EXIF orientation is not applied, as `Image.open` does not apply it either;
/// animated files give their first frame.
public enum StillImage {
  /// Refuses images above this many pixels before decoding them.
  public static let maximumPixels = PixelConverter.maximumPixels

  private static let pngSignature: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]

  /// Decodes the image at `path`.
  public static func read(path: String) throws -> PixelImage {
    try checkReadableFile(path)
    let handle = FileHandle(forReadingAtPath: path)
    let head = try handle?.read(upToCount: pngSignature.count)
    try? handle?.close()
    if let head, [UInt8](head) == pngSignature { return try readPNG(path: path) }
    return try readWithFFmpeg(path: path)
  }

  private static func readPNG(path: String) throws -> PixelImage {
    let data: Data
    do {
      data = try Data(contentsOf: URL(fileURLWithPath: path), options: .alwaysMapped)
    } catch {
      throw MediaError.unreadable(path: path, reason: error.localizedDescription)
    }
    var decoded = mm_png_image()
    let status = data.withUnsafeBytes { raw in
      mm_png_decode(raw.bindMemory(to: UInt8.self).baseAddress, raw.count, maximumPixels, &decoded)
    }
    defer { mm_png_free(&decoded) }
    guard status == 0 else {
      let reason = withUnsafeBytes(of: decoded.message) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
      if reason == "image size is out of range" {
        throw MediaError.tooLarge(path: path, reason: "PNG of \(decoded.width)x\(decoded.height) pixels")
      }
      throw MediaError.decodeFailed(path: path, reason: "PNG: \(reason)")
    }
    let format: PixelImage.Format =
      switch decoded.channels {
      case 1: .gray
      case 2: .grayAlpha
      case 3: .rgb
      default: .rgba
      }
    let count = Int(decoded.width) * Int(decoded.height) * format.channels
    let pixels = [UInt8](UnsafeBufferPointer(start: decoded.pixels, count: count))
    return PixelImage(width: Int(decoded.width), height: Int(decoded.height), format: format, pixels: pixels)
  }

  /// FFmpeg demuxers of single-picture files besides the `*_pipe` image demuxers (GIF as Pillow
  /// reads it: the first frame).
  private static let stillImageDemuxers: Set<String> = ["image2", "gif", "apng"]

  private static func readWithFFmpeg(path: String) throws -> PixelImage {
    let input: MediaInput
    do {
      input = try MediaInput(path: path)
    } catch MediaError.notMedia(_, let reason) {
      throw MediaError.notMedia(path: path, reason: "not an image FFmpeg can read: \(reason)")
    }
    // Pillow opens still-image files only; taking the first frame of a video would silently give
    // an embedding of one arbitrary frame.
    let demuxer = String(cString: input.context.pointee.iformat.pointee.name)
    guard stillImageDemuxers.contains(demuxer) || demuxer.hasSuffix("_pipe") else {
      throw MediaError.notMedia(
        path: path, reason: "a \(demuxer) container, not a still image (use `mmencode video` for videos)")
    }
    guard let streamIndex = input.bestStream(AVMEDIA_TYPE_VIDEO) else {
      throw MediaError.notMedia(path: path, reason: "no image in it")
    }
    input.readOnly(stream: streamIndex)
    let stream = input.stream(streamIndex)
    let parameters = stream.pointee.codecpar.pointee
    guard Int(parameters.width) <= maximumPixels / max(Int(parameters.height), 1) else {
      throw MediaError.tooLarge(path: path, reason: "\(parameters.width)x\(parameters.height) pixels")
    }
    // Strict decoding turns a cut-off JPEG, WebP or BMP into an error instead of a picture padded
    // with grey; FFmpeg's TIFF decoder, though, fails valid files on tags it does not know when
    // strict, and reports truncation on its own.
    let strict = parameters.codec_id != AV_CODEC_ID_TIFF
    let decoder = try StreamDecoder(stream: stream, path: path, threads: 1, strict: strict)
    let packet = try Packet(path: path)
    let frame = try Frame(path: path)
    try decodeFirstFrame(input, streamIndex: streamIndex, decoder: decoder, packet: packet, into: frame)
    defer { av_frame_unref(frame.pointer) }
    guard !frame.isDamaged else {
      throw MediaError.decodeFailed(path: path, reason: "the decoder reports the image damaged")
    }
    let (format, isPalette) = try outputFormat(of: frame.pointer, path: path)
    let image: PixelImage
    if parameters.codec_id == AV_CODEC_ID_MJPEG, let converted = PillowColor.jpeg(frame.pointer) {
      image = converted
    } else if parameters.codec_id == AV_CODEC_ID_WEBP, let converted = PillowColor.webp(frame.pointer) {
      image = converted
    } else {
      let converter = PixelConverter(path: path)
      image = try converter.convert(frame.pointer, to: format, settings: .default, orientation: .identity).image
    }
    // An alpha plane with nothing but opaque samples (lossless WebP always decodes with one) is
    // not in the file; a palette's transparent entry is, used or not (Pillow: "P" -> "RGBA").
    return !isPalette && image.isOpaque ? image.droppingAlpha() : image
  }

  private static func decodeFirstFrame(
    _ input: MediaInput, streamIndex: Int, decoder: StreamDecoder, packet: Packet, into frame: Frame
  ) throws {
    var ended = false
    while true {
      let received = avcodec_receive_frame(decoder.context, frame.pointer)
      if received == 0 { return }
      if received == mm_averror_eof() {
        throw MediaError.decodeFailed(path: input.path, reason: "no picture in the file")
      }
      guard received == mm_averror(EAGAIN), !ended else {
        throw MediaError.decodeFailed(path: input.path, reason: ffmpegReason(received))
      }
      let read = av_read_frame(input.context, packet.pointer)
      if read < 0 {
        ended = true
        if read != mm_averror_eof() {
          throw MediaError.truncated(path: input.path, reason: ffmpegReason(read))
        }
        _ = avcodec_send_packet(decoder.context, nil)
        continue
      }
      defer { av_packet_unref(packet.pointer) }
      guard Int(packet.pointer.pointee.stream_index) == streamIndex, packet.pointer.pointee.size > 0 else { continue }
      let sent = avcodec_send_packet(decoder.context, packet.pointer)
      guard sent >= 0 else { throw MediaError.decodeFailed(path: input.path, reason: ffmpegReason(sent)) }
    }
  }

  /// Gray stays gray; alpha (a pixel format with alpha, or a palette with a transparent entry)
  /// is kept; everything else becomes RGB.
  private static func outputFormat(
    of frame: UnsafeMutablePointer<AVFrame>, path: String
  ) throws -> (format: PixelImage.Format, isPalette: Bool) {
    guard let descriptor = av_pix_fmt_desc_get(AVPixelFormat(frame.pointee.format)) else {
      throw MediaError.unsupported(path: path, reason: "unknown pixel format \(frame.pointee.format)")
    }
    let flags = descriptor.pointee.flags
    if flags & UInt64(AV_PIX_FMT_FLAG_PAL) != 0, let palette = frame.pointee.data.1 {
      // 256 native-endian 32-bit ARGB entries.
      let entries = UnsafeRawPointer(palette).bindMemory(to: UInt32.self, capacity: 256)
      let translucent = (0..<256).contains { entries[$0] >> 24 != 0xFF }
      return (translucent ? .rgba : .rgb, true)
    }
    let hasAlpha = flags & UInt64(AV_PIX_FMT_FLAG_ALPHA) != 0
    let isGray = flags & UInt64(AV_PIX_FMT_FLAG_RGB) == 0 && descriptor.pointee.nb_components <= 2
    let format: PixelImage.Format =
      switch (isGray, hasAlpha) {
      case (true, false): .gray
      case (true, true): .grayAlpha
      case (false, false): .rgb
      case (false, true): .rgba
      }
    return (format, false)
  }
}
