import Media

/// The frame number fixtures/make_media.sh's pattern draws: eight bars across the top half, most
/// significant bit left, bright for 1. Read at each bar's centre, a quarter of the way down, so a
/// decoded frame names itself even after lossy coding.
package func drawnFrameNumber(_ image: PixelImage) -> Int {
  precondition(image.format == .rgb)
  var number = 0
  for bit in 0..<8 {
    let x = Int((Double(bit) + 0.5) * Double(image.width) / 8)
    let y = image.height / 4
    let offset = (y * image.width + x) * 3
    let level = (Int(image.pixels[offset]) + Int(image.pixels[offset + 1]) + Int(image.pixels[offset + 2])) / 3
    number = number * 2 + (level > 128 ? 1 : 0)
  }
  return number
}
