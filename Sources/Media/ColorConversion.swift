import CFFmpeg
import Foundation

/// A YCbCr -> RGB matrix, as libswscale names them.
public enum ColorMatrix: String, Codable, Sendable, CaseIterable {
  /// ITU-R BT.601 (FFmpeg tags `bt470bg` and `smpte170m`).
  case bt601
  case bt709
  case fcc
  case smpte240m
  /// ITU-R BT.2020 (non-constant and constant luminance share swscale's coefficients).
  case bt2020

  /// The matrix a stream tag names; nil for unspecified and for tags swscale has no table for.
  init?(tag: AVColorSpace) {
    switch tag {
    case AVCOL_SPC_BT470BG, AVCOL_SPC_SMPTE170M: self = .bt601
    case AVCOL_SPC_BT709: self = .bt709
    case AVCOL_SPC_FCC: self = .fcc
    case AVCOL_SPC_SMPTE240M: self = .smpte240m
    case AVCOL_SPC_BT2020_NCL, AVCOL_SPC_BT2020_CL: self = .bt2020
    default: return nil
    }
  }

  var swscaleColorspace: Int32 {
    switch self {
    case .bt601: SWS_CS_ITU601
    case .bt709: SWS_CS_ITU709
    case .fcc: SWS_CS_FCC
    case .smpte240m: SWS_CS_SMPTE240M
    case .bt2020: SWS_CS_BT2020
    }
  }
}

/// Whether YCbCr samples use the whole 8-bit range or the studio range (Y 16-235).
public enum ColorRange: String, Codable, Sendable, CaseIterable {
  /// Studio ("tv", "mpeg") range.
  case limited
  /// Full ("pc", "jpeg") range.
  case full

  init?(tag: AVColorRange) {
    switch tag {
    case AVCOL_RANGE_MPEG: self = .limited
    case AVCOL_RANGE_JPEG: self = .full
    default: return nil
    }
  }
}

/// How decoded pictures become RGB: the policy for untagged streams, optional overrides, and the
/// fixed libswscale flags. Two runs with equal settings on the same file and libraries give the
/// same pixels, so a cache recipe hashes ``canonicalDescription``.
///
/// Tagged streams use their tags. Untagged ones get, by default, what FFmpeg's own conversion
/// gives (the `ffmpeg` CLI, PyAV, torchcodec and decord all go through it): BT.601 at every size;
/// limited range for YUV, full range for `yuvj*` and gray formats. ``UntaggedMatrix/bySize``
/// instead guesses as most players do (BT.709 for HD).
public struct ColorSettings: Codable, Hashable, Sendable {
  /// The matrix for streams without a colour-matrix tag.
  public enum UntaggedMatrix: String, Codable, Sendable, CaseIterable {
    /// BT.601 whatever the size: libswscale's default for an unspecified colourspace.
    case bt601
    /// BT.709 from ``ColorSettings/hdMinimumWidth`` wide or taller than
    /// ``ColorSettings/sdMaximumHeight``, else BT.601 (mpv's and most players' guess).
    case bySize
  }

  public var untaggedMatrix: UntaggedMatrix
  /// When set, used instead of the stream's tag.
  public var matrix: ColorMatrix?
  /// When set, used instead of the stream's tag.
  public var range: ColorRange?

  /// Exact rounding, chroma interpolated to every luma sample (not shared by pixel pairs), and
  /// bit-exact C paths. Chroma handling dominates the difference between conversions (about 1.5-1.9
  /// levels mean, up to 154, between default and these flags on 4:2:0 H.264; spec section 5c).
  /// Bicubic is the chroma upsampling filter (the flags need one algorithm; it is also the
  /// `scale` filter's default).
  public static let scalerFlags = "bicubic+accurate_rnd+full_chroma_int+bitexact"
  static let swscaleFlags = SWS_BICUBIC | SWS_ACCURATE_RND | SWS_FULL_CHR_H_INT | SWS_BITEXACT

  /// Pictures at least this wide count as HD for ``UntaggedMatrix/bySize``.
  public static let hdMinimumWidth = 1280
  /// Pictures taller than this count as HD for ``UntaggedMatrix/bySize`` (576: PAL SD).
  public static let sdMaximumHeight = 576

  /// FFmpeg's behaviour: tags, else BT.601 and the pixel format's implied range.
  public static let `default` = ColorSettings()

  public init(untaggedMatrix: UntaggedMatrix = .bt601, matrix: ColorMatrix? = nil, range: ColorRange? = nil) {
    self.untaggedMatrix = untaggedMatrix
    self.matrix = matrix
    self.range = range
  }

  /// A versioned, canonical one-line form for hashing, e.g.
  /// `color-v1 untagged=bt601 matrix=tag range=tag sws=bicubic+accurate_rnd+full_chroma_int+bitexact`.
  public var canonicalDescription: String {
    "color-v1 untagged=\(untaggedMatrix.rawValue) matrix=\(matrix?.rawValue ?? "tag")"
      + " range=\(range?.rawValue ?? "tag") sws=\(Self.scalerFlags)"
  }

  /// The matrix and range to use for a picture of `format` with the given tags.
  package func resolve(
    format: AVPixelFormat, colorspace: AVColorSpace, colorRange: AVColorRange, width: Int, height: Int
  ) -> ResolvedColor {
    guard let descriptor = av_pix_fmt_desc_get(format) else {
      return ResolvedColor(matrix: nil, range: nil, matrixSource: nil, rangeSource: nil)
    }
    let flags = descriptor.pointee.flags
    let isRGB = flags & UInt64(AV_PIX_FMT_FLAG_RGB) != 0 || flags & UInt64(AV_PIX_FMT_FLAG_PAL) != 0
    if isRGB { return ResolvedColor(matrix: nil, range: nil, matrixSource: nil, rangeSource: nil) }
    let isGray = descriptor.pointee.nb_components <= 2

    var matrix: ColorMatrix? = nil
    var matrixSource: ResolvedColor.Source? = nil
    if !isGray {
      if let chosen = self.matrix {
        (matrix, matrixSource) = (chosen, .override)
      } else if let tagged = ColorMatrix(tag: colorspace) {
        (matrix, matrixSource) = (tagged, .tag)
      } else {
        let hd = width >= Self.hdMinimumWidth || height > Self.sdMaximumHeight
        matrix = untaggedMatrix == .bySize && hd ? .bt709 : .bt601
        matrixSource = .fallback
      }
    }
    let range: ColorRange
    let rangeSource: ResolvedColor.Source
    if let chosen = self.range {
      (range, rangeSource) = (chosen, .override)
    } else if let tagged = ColorRange(tag: colorRange) {
      (range, rangeSource) = (tagged, .tag)
    } else {
      // swscale's own default: the deprecated yuvj* formats and gray are full range.
      (range, rangeSource) = (isGray || Self.fullRangeFormats.contains(format) ? .full : .limited, .fallback)
    }
    return ResolvedColor(matrix: matrix, range: range, matrixSource: matrixSource, rangeSource: rangeSource)
  }

  static let fullRangeFormats: Set<AVPixelFormat> = [
    AV_PIX_FMT_YUVJ420P, AV_PIX_FMT_YUVJ422P, AV_PIX_FMT_YUVJ444P, AV_PIX_FMT_YUVJ440P,
    AV_PIX_FMT_YUVJ411P,
  ]
}

/// The matrix and range a conversion used, and where each came from. Both are nil for RGB and
/// palette sources; the matrix is nil for gray ones.
public struct ResolvedColor: Codable, Hashable, Sendable {
  public enum Source: String, Codable, Sendable {
    /// The stream's or frame's tag.
    case tag
    /// ``ColorSettings``' rule for untagged streams.
    case fallback
    /// ``ColorSettings/matrix`` or ``ColorSettings/range``.
    case override
  }

  public let matrix: ColorMatrix?
  public let range: ColorRange?
  public let matrixSource: Source?
  public let rangeSource: Source?
}

/// Converts decoded pictures to 8-bit RGB, RGBA, gray or gray+alpha at full resolution with
/// libswscale, then applies the display orientation. Keeps its swscale context and output buffer
/// between pictures of the same shape.
final class PixelConverter {
  /// Refuses pictures above this many pixels (a 16384 x 16384 picture).
  static let maximumPixels = 1 << 28

  private struct Shape: Equatable {
    var width: Int32, height: Int32, source: AVPixelFormat.RawValue, target: AVPixelFormat.RawValue
    var matrix: ColorMatrix?, range: ColorRange?
  }

  private let path: String
  private var context: OpaquePointer? = nil
  private var shape: Shape? = nil
  private var buffer: UnsafeMutablePointer<UInt8>? = nil
  private var bufferSize = 0

  init(path: String) { self.path = path }

  deinit {
    sws_freeContext(context)
    av_free(buffer)
  }

  /// `frame` as a `target` image turned by `orientation`, and the colour handling used.
  func convert(
    _ frame: UnsafeMutablePointer<AVFrame>, to target: PixelImage.Format, settings: ColorSettings,
    orientation: Orientation
  ) throws -> (image: PixelImage, color: ResolvedColor) {
    let width = Int(frame.pointee.width)
    let height = Int(frame.pointee.height)
    guard width > 0, height > 0 else {
      throw MediaError.decodeFailed(path: path, reason: "decoder returned a \(width)x\(height) picture")
    }
    guard width <= Self.maximumPixels / height else {
      throw MediaError.tooLarge(path: path, reason: "\(width)x\(height) pixels")
    }
    let source = AVPixelFormat(frame.pointee.format)
    let color = settings.resolve(
      format: source, colorspace: frame.pointee.colorspace, colorRange: frame.pointee.color_range,
      width: width, height: height)
    let wanted = Shape(
      width: frame.pointee.width, height: frame.pointee.height, source: source.rawValue,
      target: target.ffmpegFormat.rawValue, matrix: color.matrix, range: color.range)
    if wanted != shape { try configure(wanted, color: color) }

    let stride = (width * target.channels + Self.rowAlignment - 1) / Self.rowAlignment * Self.rowAlignment
    let needed = stride * height
    if needed > bufferSize {
      av_free(buffer)
      buffer = av_malloc(needed).map { $0.assumingMemoryBound(to: UInt8.self) }
      bufferSize = buffer == nil ? 0 : needed
      guard buffer != nil else { throw MediaError.decodeFailed(path: path, reason: "out of memory") }
    }
    let output = buffer!
    var destinations: [UnsafeMutablePointer<UInt8>?] = [output, nil, nil, nil]
    var strides: [Int32] = [Int32(stride), 0, 0, 0]
    let scaled = withUnsafePointer(to: &frame.pointee.data) { data in
      withUnsafePointer(to: &frame.pointee.linesize) { lines in
        data.withMemoryRebound(to: UnsafePointer<UInt8>?.self, capacity: Int(AV_NUM_DATA_POINTERS)) { planes in
          lines.withMemoryRebound(to: Int32.self, capacity: Int(AV_NUM_DATA_POINTERS)) { planeStrides in
            sws_scale(context, planes, planeStrides, 0, Int32(height), &destinations, &strides)
          }
        }
      }
    }
    guard scaled == Int32(height) else {
      throw MediaError.decodeFailed(path: path, reason: "colour conversion failed: \(ffmpegReason(scaled))")
    }
    let image = orientation.turn(output, stride: stride, width: width, height: height, format: target)
    return (image, color)
  }

  /// Row alignment of the conversion buffer, as FFmpeg's own frame buffers use, so swscale takes
  /// the same code paths as in the `ffmpeg` CLI.
  private static let rowAlignment = 64

  private func configure(_ wanted: Shape, color: ResolvedColor) throws {
    sws_freeContext(context)
    shape = nil
    context = sws_getContext(
      wanted.width, wanted.height, AVPixelFormat(wanted.source), wanted.width, wanted.height,
      AVPixelFormat(wanted.target), ColorSettings.swscaleFlags, nil, nil, nil)
    guard let context else {
      let name = av_get_pix_fmt_name(AVPixelFormat(wanted.source)).map { String(cString: $0) } ?? "?"
      throw MediaError.unsupported(path: path, reason: "no conversion from pixel format \(name)")
    }
    if color.matrix != nil || color.range != nil {
      // Start from swscale's current details and replace only the input side, as the `scale`
      // filter does with in_color_matrix / in_range, so the two give identical pixels.
      var inverse: UnsafeMutablePointer<Int32>? = nil
      var table: UnsafeMutablePointer<Int32>? = nil
      var sourceFull: Int32 = 0, targetFull: Int32 = 0
      var brightness: Int32 = 0, contrast: Int32 = 0, saturation: Int32 = 0
      if sws_getColorspaceDetails(
        context, &inverse, &sourceFull, &table, &targetFull, &brightness, &contrast, &saturation) >= 0
      {
        var coefficients = inverse.map { UnsafePointer($0) }
        if let matrix = color.matrix { coefficients = sws_getCoefficients(matrix.swscaleColorspace) }
        if let range = color.range { sourceFull = range == .full ? 1 : 0 }
        sws_setColorspaceDetails(
          context, coefficients, sourceFull, coefficients, targetFull, brightness, contrast, saturation)
      }
    }
    shape = wanted
  }
}

extension PixelImage.Format {
  var ffmpegFormat: AVPixelFormat {
    switch self {
    case .gray: AV_PIX_FMT_GRAY8
    case .grayAlpha: AV_PIX_FMT_YA8
    case .rgb: AV_PIX_FMT_RGB24
    case .rgba: AV_PIX_FMT_RGBA
    }
  }
}
