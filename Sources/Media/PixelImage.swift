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
