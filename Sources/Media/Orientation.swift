import CFFmpeg
import Foundation

/// How a decoded picture must be turned for display, from the stream's display matrix.
///
/// The decision follows the FFmpeg CLI's autorotate (fftools, 5.1 through 7.x): the rotation angle
/// is `-round(av_display_rotation_get(m))` folded into [0, 360), then the matrix's signs choose
/// between a rotation and a mirror. The pixel moves are exact (no resampling), so a turned frame is
/// the same pixels as `ffmpeg -i FILE` produces with autorotate.
public enum Orientation: String, Codable, Sendable, CaseIterable {
  /// As decoded.
  case identity
  /// Turned 90 degrees clockwise (FFmpeg `transpose=clock`); phones write this for portrait.
  case rotate90
  /// Upside down (FFmpeg `hflip,vflip`).
  case rotate180
  /// Turned 90 degrees counter-clockwise (FFmpeg `transpose=cclock`).
  case rotate270
  /// Mirrored left-right (FFmpeg `hflip`).
  case mirrorHorizontal
  /// Mirrored top-bottom (FFmpeg `vflip`).
  case mirrorVertical
  /// Mirrored about the main diagonal: output (x, y) is input (y, x) (FFmpeg `transpose=cclock_flip`).
  case transpose
  /// Mirrored about the anti-diagonal (FFmpeg `transpose=clock_flip`).
  case transverse

  /// Tolerance, in degrees, for recognising a right angle; the FFmpeg CLI's.
  static let angleTolerance = 1.0

  /// The orientation a display matrix (nine 16.16/2.30 fixed-point values, row-major) asks for;
  /// nil when it rotates by an angle that is not a multiple of 90 degrees.
  package init?(displayMatrix m: [Int32]) {
    precondition(m.count == 9, "a display matrix has 9 entries")
    let ccw = m.withUnsafeBufferPointer { av_display_rotation_get($0.baseAddress!) }
    guard ccw.isFinite else { return nil }
    var theta = -ccw.rounded()
    theta -= 360 * (theta / 360 + 0.9 / 360).rounded(.down)
    let near = { (angle: Double) in abs(theta - angle) < Self.angleTolerance }
    if near(90) {
      self = m[3] > 0 ? .transpose : .rotate90
    } else if near(180) {
      switch (m[0] < 0, m[4] < 0) {
      case (true, true): self = .rotate180
      case (true, false): self = .mirrorHorizontal
      case (false, true): self = .mirrorVertical
      case (false, false): self = .identity
      }
    } else if near(270) {
      self = m[3] < 0 ? .transverse : .rotate270
    } else if abs(theta) > Self.angleTolerance {
      return nil
    } else {
      self = m[4] < 0 ? .mirrorVertical : .identity
    }
  }

  /// Whether width and height trade places.
  public var swapsAxes: Bool {
    switch self {
    case .rotate90, .rotate270, .transpose, .transverse: true
    case .identity, .rotate180, .mirrorHorizontal, .mirrorVertical: false
    }
  }

  /// Clockwise rotation in degrees that, after the mirror in ``isMirrored``, gives this orientation.
  public var clockwiseDegrees: Int {
    switch self {
    case .identity, .mirrorHorizontal: 0
    case .rotate90, .transverse: 90
    case .rotate180, .mirrorVertical: 180
    case .rotate270, .transpose: 270
    }
  }

  /// Whether a left-right mirror comes before the rotation.
  public var isMirrored: Bool {
    switch self {
    case .mirrorHorizontal, .mirrorVertical, .transpose, .transverse: true
    case .identity, .rotate90, .rotate180, .rotate270: false
    }
  }

  /// The FFmpeg filters that turn a picture the same way; nil for ``identity``.
  public var ffmpegFilter: String? {
    switch self {
    case .identity: nil
    case .rotate90: "transpose=clock"
    case .rotate180: "hflip,vflip"
    case .rotate270: "transpose=cclock"
    case .mirrorHorizontal: "hflip"
    case .mirrorVertical: "vflip"
    case .transpose: "transpose=cclock_flip"
    case .transverse: "transpose=clock_flip"
    }
  }

  /// For output pixel (x, y) of an image turned from a `width` x `height` source, the source pixel.
  @inline(__always)
  func source(x: Int, y: Int, width: Int, height: Int) -> (x: Int, y: Int) {
    switch self {
    case .identity: (x, y)
    case .rotate90: (y, height - 1 - x)
    case .rotate180: (width - 1 - x, height - 1 - y)
    case .rotate270: (width - 1 - y, x)
    case .mirrorHorizontal: (width - 1 - x, y)
    case .mirrorVertical: (x, height - 1 - y)
    case .transpose: (y, x)
    case .transverse: (width - 1 - y, height - 1 - x)
    }
  }

  /// Copies `rows` (a `width` x `height` image, `channels` interleaved 8-bit samples per pixel,
  /// `stride` bytes per row) into a new image turned by this orientation.
  func turn(
    _ rows: UnsafePointer<UInt8>, stride: Int, width: Int, height: Int, format: PixelImage.Format
  ) -> PixelImage {
    let channels = format.channels
    let (outWidth, outHeight) = swapsAxes ? (height, width) : (width, height)
    let rowBytes = width * channels
    let pixels = [UInt8](unsafeUninitializedCapacity: outWidth * outHeight * channels) { out, count in
      if self == .identity {
        for y in 0..<height {
          (out.baseAddress! + y * rowBytes).update(from: rows + y * stride, count: rowBytes)
        }
      } else {
        var o = 0
        for y in 0..<outHeight {
          for x in 0..<outWidth {
            let (sx, sy) = source(x: x, y: y, width: width, height: height)
            let s = rows + sy * stride + sx * channels
            for c in 0..<channels { out[o + c] = s[c] }
            o += channels
          }
        }
      }
      count = outWidth * outHeight * channels
    }
    return PixelImage(width: outWidth, height: outHeight, format: format, pixels: pixels)
  }
}
