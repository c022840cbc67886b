/// An 8-bit image with interleaved channels, as decoded from a still image or a video frame.
///
/// Pixels are row-major with no row padding: the sample of channel `c` at `(x, y)` is
/// `pixels[(y * width + x) * format.channels + c]`.
public struct PixelImage: Sendable, Equatable {
  /// Channel layout, named as Pillow's modes.
  public enum Format: String, Sendable, Equatable {
    /// One luminance channel (Pillow "L").
    case gray
    /// Luminance and alpha (Pillow "LA").
    case grayAlpha
    /// Red, green, blue (Pillow "RGB").
    case rgb
    /// Red, green, blue, alpha, not premultiplied (Pillow "RGBA").
    case rgba

    /// Samples per pixel.
    public var channels: Int {
      switch self {
      case .gray: 1
      case .grayAlpha: 2
      case .rgb: 3
      case .rgba: 4
      }
    }
  }

  public let width: Int
  public let height: Int
  public let format: Format
  public var pixels: [UInt8]

  public init(width: Int, height: Int, format: Format, pixels: [UInt8]) {
    precondition(width >= 0 && height >= 0, "image size \(width)x\(height)")
    precondition(pixels.count == width * height * format.channels, "pixel count for \(width)x\(height) \(format)")
    self.width = width
    self.height = height
    self.format = format
    self.pixels = pixels
  }
}

extension PixelImage {
  /// Whether every alpha sample is 255 (true for formats without alpha).
  var isOpaque: Bool {
    guard format == .rgba || format == .grayAlpha else { return true }
    let step = format.channels
    return stride(from: step - 1, to: pixels.count, by: step).allSatisfy { pixels[$0] == UInt8.max }
  }

  /// The same image without its alpha channel.
  func droppingAlpha() -> PixelImage {
    let (target, keep): (Format, Int) =
      switch format {
      case .rgba: (.rgb, 3)
      case .grayAlpha: (.gray, 1)
      case .gray, .rgb: (format, format.channels)
      }
    guard target != format else { return self }
    var out = [UInt8]()
    out.reserveCapacity(width * height * keep)
    for pixel in stride(from: 0, to: pixels.count, by: format.channels) {
      out.append(contentsOf: pixels[pixel..<pixel + keep])
    }
    return PixelImage(width: width, height: height, format: target, pixels: out)
  }
}
