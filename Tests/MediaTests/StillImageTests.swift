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

/// Lossless formats: decoded exactly as Pillow decodes them.
private let lossless = stills.keys.filter { !$0.hasSuffix(".jpg") && $0 != "lossy.webp" && $0 != "alpha.webp" }.sorted()

@Test(arguments: lossless)
func losslessStillMatchesPillow(name: String) throws {
  let expected = try #require(stills[name])
  let image = try StillImage.read(path: Fixtures.image(name))
  #expect(image.format.rawValue == expected.format, "Pillow mode \(expected.pillow_mode)")
  #expect(image.width == expected.width && image.height == expected.height)
  let reference = [UInt8](try Data(contentsOf: URL(fileURLWithPath: Fixtures.reference("stills/\(name).raw"))))
  try #require(image.pixels.count == reference.count)
  #expect(maxDifference(image.pixels, reference) == 0)
}

@Test(arguments: ["photo420.jpg", "photo444.jpg", "gray.jpg", "progressive.jpg", "lossy.webp", "alpha.webp"])
func lossyStillIsCloseToPillow(name: String) throws {
  let expected = try #require(stills[name])
  let image = try StillImage.read(path: Fixtures.image(name))
  #expect(image.format.rawValue == expected.format, "Pillow mode \(expected.pillow_mode)")
  let reference = [UInt8](try Data(contentsOf: URL(fileURLWithPath: Fixtures.reference("stills/\(name).raw"))))
  try #require(image.pixels.count == reference.count)
  print(name, "max", maxDifference(image.pixels, reference), "mean", meanDifference(image.pixels, reference))
}
