import Foundation
import Media
import Testing

/// The patched copies of h264_bframes.mp4 and how each must be shown (make_media.sh).
private let turned: [(name: String, orientation: Orientation)] = [
  ("rotate_cw90.mp4", .rotate90), ("rotate_ccw90.mp4", .rotate270), ("rotate_180.mp4", .rotate180),
  ("mirror.mp4", .mirrorHorizontal), ("transpose.mp4", .transpose),
]

/// `image` turned by `orientation`, written out independently of Media's implementation.
private func turn(_ image: PixelImage, _ orientation: Orientation) -> PixelImage {
  let (w, h) = (image.width, image.height)
  let swaps = [.rotate90, .rotate270, .transpose, .transverse].contains(orientation)
  let (ow, oh) = swaps ? (h, w) : (w, h)
  var out = [UInt8](repeating: 0, count: image.pixels.count)
  for y in 0..<h {
    for x in 0..<w {
      // Where source pixel (x, y) goes.
      let (tx, ty): (Int, Int) =
        switch orientation {
        case .identity: (x, y)
        case .rotate90: (h - 1 - y, x)
        case .rotate180: (w - 1 - x, h - 1 - y)
        case .rotate270: (y, w - 1 - x)
        case .mirrorHorizontal: (w - 1 - x, y)
        case .mirrorVertical: (x, h - 1 - y)
        case .transpose: (y, x)
        case .transverse: (h - 1 - y, w - 1 - x)
        }
      for c in 0..<3 { out[(ty * ow + tx) * 3 + c] = image.pixels[(y * w + x) * 3 + c] }
    }
  }
  return PixelImage(width: ow, height: oh, format: .rgb, pixels: out)
}

@Test(arguments: turned.map(\.name))
func displayMatrixTurnsFramesExactly(name: String) throws {
  let expected = try #require(turned.first { $0.name == name }).orientation
  let plain = try VideoReader(path: Fixtures.media("h264_bframes.mp4"))
  let reader = try VideoReader(path: Fixtures.media(name))
  #expect(reader.orientation == expected)
  #expect(reader.stream.displayWidth == (expected.swapsAxes ? 64 : 96))
  for position in [0, 7, 30] {
    let frame = try reader.frame(at: position)
    let upright = try plain.frame(at: position)
    #expect(frame.image == turn(upright.image, expected), "frame \(position)")
  }
}

@Test func displayMatrixDecisionsFollowTheFFmpegCLI() {
  // 16.16 fixed point: 1.0 is 65536. The last row holds the translation and w (2.30).
  let one: Int32 = 65536
  func matrix(_ a: Int32, _ b: Int32, _ c: Int32, _ d: Int32) -> [Int32] { [a, b, 0, c, d, 0, 0, 0, 1 << 30] }
  #expect(Orientation(displayMatrix: matrix(one, 0, 0, one)) == .identity)
  #expect(Orientation(displayMatrix: matrix(0, one, -one, 0)) == .rotate90)
  #expect(Orientation(displayMatrix: matrix(0, -one, one, 0)) == .rotate270)
  #expect(Orientation(displayMatrix: matrix(-one, 0, 0, -one)) == .rotate180)
  #expect(Orientation(displayMatrix: matrix(-one, 0, 0, one)) == .mirrorHorizontal)
  #expect(Orientation(displayMatrix: matrix(one, 0, 0, -one)) == .mirrorVertical)
  #expect(Orientation(displayMatrix: matrix(0, one, one, 0)) == .transpose)
  #expect(Orientation(displayMatrix: matrix(0, -one, -one, 0)) == .transverse)
  // 45 degrees: not a right angle, refused.
  let half: Int32 = 46341  // 65536 / sqrt(2)
  #expect(Orientation(displayMatrix: matrix(half, half, -half, half)) == nil)
}
