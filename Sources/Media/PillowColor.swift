import CFFmpeg
import Foundation

/// YCbCr -> RGB for JPEG and lossy WebP stills the way the libraries behind Pillow compute it from
/// the same planes, so FFmpeg-decoded stills match `Image.open(...)`.
///
/// libswscale interpolates 4:2:0 chroma differently from both libraries (up to 78 levels apart on
/// sharp colour edges). Here the chroma is upsampled with each library's "fancy" (triangle) filter
/// and its own integer rounding, then converted with its fixed-point matrix:
/// - JPEG, as libjpeg-turbo (JFIF: BT.601 full range, 16-bit fixed point); 4:2:0, 4:2:2 and 4:4:4.
///   What remains is FFmpeg's inverse DCT against libjpeg's (at most 1 level on Y, about 3 in RGB).
/// - WebP, as libwebp (BT.601 limited range, 14-bit fixed point); 4:2:0 with or without alpha.
///   FFmpeg's VP8 decoder matches libwebp's, so the result is identical.
/// Other layouts return nil and go through libswscale.
enum PillowColor {
  /// `frame` (decoded by FFmpeg's `mjpeg` decoder) as RGB, or nil for layouts not handled here.
  static func jpeg(_ frame: UnsafeMutablePointer<AVFrame>) -> PixelImage? {
    let format = AVPixelFormat(frame.pointee.format)
    let upsample: (Plane, Int, Int) -> [Int32]
    switch format {
    case AV_PIX_FMT_YUVJ420P: upsample = JPEGUpsampling.h2v2
    case AV_PIX_FMT_YUVJ422P: upsample = JPEGUpsampling.h2v1
    case AV_PIX_FMT_YUVJ444P: upsample = JPEGUpsampling.none
    default: return nil
    }
    let width = Int(frame.pointee.width)
    let height = Int(frame.pointee.height)
    let luma = Plane(frame, 0)
    let cb = upsample(Plane(frame, 1), width, height)
    let cr = upsample(Plane(frame, 2), width, height)
    var pixels = [UInt8](repeating: 0, count: width * height * 3)
    for y in 0..<height {
      for x in 0..<width {
        let i = y * width + x
        let (r, g, b) = JPEGUpsampling.rgb(luma[x, y], cb[i], cr[i])
        pixels[i * 3] = r
        pixels[i * 3 + 1] = g
        pixels[i * 3 + 2] = b
      }
    }
    return PixelImage(width: width, height: height, format: .rgb, pixels: pixels)
  }

  /// `frame` (decoded by FFmpeg's `webp` decoder from a lossy file) as RGB or RGBA, or nil for
  /// layouts not handled here.
  static func webp(_ frame: UnsafeMutablePointer<AVFrame>) -> PixelImage? {
    let format = AVPixelFormat(frame.pointee.format)
    guard format == AV_PIX_FMT_YUV420P || format == AV_PIX_FMT_YUVA420P else { return nil }
    let hasAlpha = format == AV_PIX_FMT_YUVA420P
    let width = Int(frame.pointee.width)
    let height = Int(frame.pointee.height)
    let luma = Plane(frame, 0)
    let u = WebPUpsampling.upsample(Plane(frame, 1), width: width, height: height)
    let v = WebPUpsampling.upsample(Plane(frame, 2), width: width, height: height)
    let alpha = hasAlpha ? Plane(frame, 3) : nil
    let channels = hasAlpha ? 4 : 3
    var pixels = [UInt8](repeating: 0, count: width * height * channels)
    for y in 0..<height {
      for x in 0..<width {
        let i = y * width + x
        let (r, g, b) = WebPUpsampling.rgb(luma[x, y], u[i], v[i])
        pixels[i * channels] = r
        pixels[i * channels + 1] = g
        pixels[i * channels + 2] = b
        if let alpha { pixels[i * channels + 3] = UInt8(alpha[x, y]) }
      }
    }
    return PixelImage(width: width, height: height, format: hasAlpha ? .rgba : .rgb, pixels: pixels)
  }
}

/// One 8-bit plane of a frame, read by coordinates.
struct Plane {
  let base: UnsafeMutablePointer<UInt8>
  let stride: Int
  let width: Int
  let height: Int

  /// Plane `index` of `frame`; chroma planes are sized by the pixel format's subsampling.
  init(_ frame: UnsafeMutablePointer<AVFrame>, _ index: Int) {
    let descriptor = av_pix_fmt_desc_get(AVPixelFormat(frame.pointee.format))!.pointee
    let chroma = index == 1 || index == 2
    let shiftX = chroma ? Int(descriptor.log2_chroma_w) : 0
    let shiftY = chroma ? Int(descriptor.log2_chroma_h) : 0
    let data = withUnsafeBytes(of: frame.pointee.data) { $0.load(fromByteOffset: index * MemoryLayout<UnsafeMutablePointer<UInt8>?>.stride, as: UnsafeMutablePointer<UInt8>?.self) }
    let lines = withUnsafeBytes(of: frame.pointee.linesize) { $0.load(fromByteOffset: index * MemoryLayout<Int32>.stride, as: Int32.self) }
    base = data!
    stride = Int(lines)
    // Ceiling division, as both the codecs and libjpeg size subsampled planes.
    width = (Int(frame.pointee.width) + (1 << shiftX) - 1) >> shiftX
    height = (Int(frame.pointee.height) + (1 << shiftY) - 1) >> shiftY
  }

  subscript(x: Int, y: Int) -> Int32 { Int32(base[y * stride + x]) }
}

/// libjpeg-turbo's fancy upsampling and YCbCr -> RGB (jdsample.c, jdcolor.c).
enum JPEGUpsampling {
  /// 4:2:0: each output sample weighs its nearest chroma sample 9/16, the two next nearest 3/16
  /// and the diagonal 1/16, computed as a vertical 3:1 column sum, then a horizontal 3:1 blend
  /// rounded with biases 8 and 7 alternately. Edge rows and columns repeat.
  static func h2v2(_ plane: Plane, _ width: Int, _ height: Int) -> [Int32] {
    var out = [Int32](repeating: 0, count: width * height)
    var sums = [Int32](repeating: 0, count: plane.width)
    for row in 0..<height {
      let near = row / 2
      let far = row % 2 == 0 ? max(near - 1, 0) : min(near + 1, plane.height - 1)
      for x in 0..<plane.width { sums[x] = 3 * plane[x, near] + plane[x, far] }
      let line = row * width
      for x in 0..<plane.width {
        let this = sums[x]
        let left = x > 0 ? 3 * this + sums[x - 1] + 8 : 4 * this + 8
        let right = x + 1 < plane.width ? 3 * this + sums[x + 1] + 7 : 4 * this + 7
        if 2 * x < width { out[line + 2 * x] = left >> 4 }
        if 2 * x + 1 < width { out[line + 2 * x + 1] = right >> 4 }
      }
    }
    return out
  }

  /// 4:2:2: horizontal 3:1 blend, rounded with biases 1 and 2; edge samples are copied.
  static func h2v1(_ plane: Plane, _ width: Int, _ height: Int) -> [Int32] {
    var out = [Int32](repeating: 0, count: width * height)
    for row in 0..<height {
      let line = row * width
      for x in 0..<plane.width {
        let this = plane[x, row]
        let left = x > 0 ? (3 * this + plane[x - 1, row] + 1) >> 2 : this
        let right = x + 1 < plane.width ? (3 * this + plane[x + 1, row] + 2) >> 2 : this
        if 2 * x < width { out[line + 2 * x] = left }
        if 2 * x + 1 < width { out[line + 2 * x + 1] = right }
      }
    }
    return out
  }

  static func none(_ plane: Plane, _ width: Int, _ height: Int) -> [Int32] {
    var out = [Int32](repeating: 0, count: width * height)
    for row in 0..<height {
      for x in 0..<width { out[row * width + x] = plane[x, row] }
    }
    return out
  }

  private static let scaleBits: Int32 = 16
  private static let half: Int32 = 1 << 15
  private static func fixed(_ value: Double) -> Int32 { Int32(value * Double(1 << 16) + 0.5) }
  private static let crToR = fixed(1.40200)
  private static let cbToB = fixed(1.77200)
  private static let crToG = fixed(0.71414)
  private static let cbToG = fixed(0.34414)

  /// JFIF YCbCr -> RGB in libjpeg's fixed point: R = Y + 1.402 Cr, G = Y - 0.34414 Cb - 0.71414 Cr,
  /// B = Y + 1.772 Cb (Cb, Cr centred on 128), each term rounded as libjpeg's tables round it.
  @inline(__always)
  static func rgb(_ y: Int32, _ cb: Int32, _ cr: Int32) -> (UInt8, UInt8, UInt8) {
    let b0 = cb - 128
    let r0 = cr - 128
    let r = y + ((crToR * r0 + half) >> scaleBits)
    let g = y + ((-cbToG * b0 + half - crToG * r0) >> scaleBits)
    let b = y + ((cbToB * b0 + half) >> scaleBits)
    return (clamp(r), clamp(g), clamp(b))
  }

  @inline(__always)
  private static func clamp(_ v: Int32) -> UInt8 { UInt8(min(max(v, 0), 255)) }
}

/// libwebp's fancy upsampling and YUV -> RGB (dsp/upsampling.c, dsp/yuv.h).
enum WebPUpsampling {
  /// 4:2:0 chroma at full size. Output rows pair up as (0), (1, 2), (3, 4), ...: the first row
  /// uses chroma row 0 twice, rows 2k-1 and 2k blend chroma rows k-1 and k (the last row of an
  /// even height uses its chroma row twice). Within a row, the triangle weights 9:3:3:1 are
  /// computed in two halving steps, as libwebp does.
  static func upsample(_ plane: Plane, width: Int, height: Int) -> [Int32] {
    var out = [Int32](repeating: 0, count: width * height)
    for y in 0..<height {
      let (top, current, isTop): (Int, Int, Bool)
      if y == 0 {
        (top, current, isTop) = (0, 0, true)
      } else if y % 2 == 1 {
        let k = (y + 1) / 2
        (top, current, isTop) = (k - 1, min(k, plane.height - 1), true)
      } else {
        (top, current, isTop) = (y / 2 - 1, y / 2, false)
      }
      row(plane, top: top, current: current, isTop: isTop, into: &out, at: y * width, width: width)
    }
    return out
  }

  private static func row(
    _ plane: Plane, top t: Int, current c: Int, isTop: Bool, into out: inout [Int32], at start: Int, width: Int
  ) {
    let near = isTop ? t : c
    let far = isTop ? c : t
    out[start] = (3 * plane[0, near] + plane[0, far] + 2) >> 2
    let pairs = (width - 1) >> 1
    if pairs >= 1 {
      for x in 1...pairs {
        let topLeft = plane[x - 1, t], topRight = plane[x, t]
        let left = plane[x - 1, c], right = plane[x, c]
        let average = topLeft + topRight + left + right + 8
        let diagonal12 = (average + 2 * (topRight + left)) >> 3
        let diagonal03 = (average + 2 * (topLeft + right)) >> 3
        if isTop {
          out[start + 2 * x - 1] = (diagonal12 + topLeft) >> 1
          out[start + 2 * x] = (diagonal03 + topRight) >> 1
        } else {
          out[start + 2 * x - 1] = (diagonal03 + left) >> 1
          out[start + 2 * x] = (diagonal12 + right) >> 1
        }
      }
    }
    if width % 2 == 0 {
      out[start + width - 1] = (3 * plane[pairs, near] + plane[pairs, far] + 2) >> 2
    }
  }

  /// VP8's YUV -> RGB in libwebp's 14-bit fixed point (BT.601, limited range).
  @inline(__always)
  static func rgb(_ y: Int32, _ u: Int32, _ v: Int32) -> (UInt8, UInt8, UInt8) {
    func high(_ value: Int32, _ coefficient: Int32) -> Int32 { (value * coefficient) >> 8 }
    let luma = high(y, 19077)
    return (
      clip(luma + high(v, 26149) - 14234),
      clip(luma - high(u, 6419) - high(v, 13320) + 8708),
      clip(luma + high(u, 33050) - 17685)
    )
  }

  /// libwebp's rounding: values are in 1/64 units.
  @inline(__always)
  private static func clip(_ v: Int32) -> UInt8 {
    let fractionBits: Int32 = 6
    let mask: Int32 = (256 << fractionBits) - 1
    return (v & ~mask) == 0 ? UInt8(v >> fractionBits) : (v < 0 ? 0 : 255)
  }
}
