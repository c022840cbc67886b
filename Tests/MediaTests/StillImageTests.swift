import Foundation
import Media
import Testing

/// One entry of fixtures/media/reference/stills/stills.json: what Pillow 13 decoded.
struct StillReference: Decodable {
  let pillow_mode: String
  let format: String
  let width: Int
  let height: Int
}

private let stills = (try? Fixtures.manifest("stills/stills.json", as: [String: StillReference].self)) ?? [:]

private func pillowPixels(_ name: String) throws -> [UInt8] {
  [UInt8](try Data(contentsOf: URL(fileURLWithPath: Fixtures.reference("stills/\(name).raw"))))
}

private let jpegs = ["photo420.jpg", "photo422.jpg", "photo444.jpg", "progressive.jpg", "gray.jpg"]
/// Decoded exactly as Pillow decodes them: every PNG variant, BMP, TIFF, both kinds of WebP.
private let exact = stills.keys.filter { !jpegs.contains($0) && $0 != "image.gif" }.sorted()

@Test(arguments: exact)
func stillMatchesPillowExactly(name: String) throws {
  let expected = try #require(stills[name])
  let image = try StillImage.read(path: Fixtures.image(name))
  #expect(image.format.rawValue == expected.format, "Pillow mode \(expected.pillow_mode)")
  #expect(image.width == expected.width && image.height == expected.height)
  let reference = try pillowPixels(name)
  try #require(image.pixels.count == reference.count)
  #expect(maxDifference(image.pixels, reference) == 0)
}

/// FFmpeg's JPEG inverse DCT differs from libjpeg's by at most one level on some samples; with
/// libjpeg's upsampling and colour tables on top, RGB stays within 3 levels (measured: max 3,
/// mean about 0.05, on every JPEG fixture; gray max 1). Tolerance 3, mean below 0.1.
@Test(arguments: jpegs)
func jpegIsWithinThreeLevelsOfPillow(name: String) throws {
  let expected = try #require(stills[name])
  let image = try StillImage.read(path: Fixtures.image(name))
  #expect(image.format.rawValue == expected.format, "Pillow mode \(expected.pillow_mode)")
  let reference = try pillowPixels(name)
  try #require(image.pixels.count == reference.count)
  let worst = maxDifference(image.pixels, reference)
  let mean = meanDifference(image.pixels, reference)
  #expect(worst <= 3 && mean < 0.1, "max \(worst), mean \(mean)")
}

/// FFmpeg's GIF decoder paints transparent pixels with its `trans_color` (white, alpha 0) where
/// Pillow keeps the palette entry's colour; alpha, and every visible pixel, are identical.
@Test func gifMatchesPillowWhereverItIsVisible() throws {
  let image = try StillImage.read(path: Fixtures.image("image.gif"))
  #expect(image.format == .rgba)
  let reference = try pillowPixels("image.gif")
  try #require(image.pixels.count == reference.count)
  var transparent = 0
  for pixel in stride(from: 0, to: reference.count, by: 4) {
    #expect(image.pixels[pixel + 3] == reference[pixel + 3])
    if reference[pixel + 3] == 0 {
      transparent += 1
    } else {
      #expect(Array(image.pixels[pixel..<pixel + 3]) == Array(reference[pixel..<pixel + 3]))
    }
  }
  #expect(transparent > 0)
}

/// Pillow cannot open videos or audio as images; taking a video's first frame would hide a
/// mistaken input behind a plausible embedding.
@Test(arguments: ["sample.mp4", "tone.mp3", "vfr.mkv"])
func videoAndAudioFilesAreNotStillImages(name: String) throws {
  #expect {
    try StillImage.read(path: Fixtures.media(name))
  } throws: { error in
    guard case .notMedia(_, let reason) = error as? MediaError else { return false }
    return reason.contains("not a still image")
  }
}
