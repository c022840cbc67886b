import CLIP
import Core
import Foundation
import Media
import Testing

// The uint8 image after transformers' convert + resize steps must equal Pillow's byte for byte:
// the port does Pillow's integer arithmetic, so there is no tolerance.

private typealias Fixtures = PreprocessFixtures

@Test func fixtureDirectoryHoldsExactlyTheTestedImages() throws {
  let files = try FileManager.default.contentsOfDirectory(
    atPath: Fixtures.directory.appendingPathComponent("images").path)
  let names = Set(files.filter { $0.hasSuffix(".safetensors") }.map { String($0.dropLast(".safetensors".count)) })
  #expect(names == Set(Fixtures.imageNames))
}

/// Both policies on every image: drop against transformers 4.57, composite against 5.24.
@Test(arguments: Fixtures.imageNames, AlphaPolicy.allCases)
func resizeMatchesPillowBitExactly(imageName: String, policy: AlphaPolicy) throws {
  let image = try Fixtures.image(imageName)
  let rgb = ImagePreprocessor.convertToRGB(image.source, alpha: policy)
  for configName in Fixtures.imageConfigNames {
    let resize = try #require(try Fixtures.config(configName, policy).resize)
    let key = "\(Fixtures.referencePrefix(policy))/\(configName)/resized"
    let (expectedShape, expected) = try image.file.uint8(key)

    let size = resize.target.outputSize(width: image.source.width, height: image.source.height)
    #expect([size.height, size.width, 3] == expectedShape, "\(key): output size rule")
    let resized = pillowResize(rgb, width: size.width, height: size.height, filter: resize.filter)
    try #require(resized.pixels.count == expected.count)
    let diff = Fixtures.difference(resized.pixels, expected)
    #expect(diff.count == 0, "\(key): \(diff.count) samples differ, max |diff| \(diff.max)")
  }
}

@Test func outputSizeRuleTruncatesTheLongSide() {
  let clip = PreprocessorConfig.ResizeTarget.shortestEdge(224)
  #expect(clip.outputSize(width: 1280, height: 720) == (398, 224))
  #expect(clip.outputSize(width: 720, height: 1280) == (224, 398))
  #expect(clip.outputSize(width: 300, height: 300) == (224, 224))
  // int(224 * 641 / 480) = int(299.13...) = 299
  #expect(clip.outputSize(width: 641, height: 480) == (299, 224))
  #expect(PreprocessorConfig.ResizeTarget.size(height: 7, width: 9).outputSize(width: 1, height: 1) == (9, 7))
}

@Test func frame1280x720ResizesTo398x224BitExactly() throws {
  let reference = try Fixtures.frameReference()
  let frame = Fixtures.frame()
  // The formula port must reproduce the generator's pixels before the resize can be judged.
  let rowSums = (0..<frame.height).map { y in
    frame.pixels[(y * frame.width * 3)..<((y + 1) * frame.width * 3)].reduce(Int64(0)) { $0 + Int64($1) }
  }
  #expect(rowSums == (try reference.int64("source_row_sums")))
  var columnSums = [Int64](repeating: 0, count: frame.width)
  for (i, sample) in frame.pixels.enumerated() { columnSums[i / 3 % frame.width] += Int64(sample) }
  #expect(columnSums == (try reference.int64("source_column_sums")))

  let config = try PreprocessorConfig.load(contentsOf: Fixtures.configPath(Fixtures.openAIConfigName))
  let resize = try #require(config.resize)
  let size = resize.target.outputSize(width: frame.width, height: frame.height)
  #expect(size == (398, 224))
  let resized = pillowResize(frame, width: size.width, height: size.height, filter: resize.filter)

  let rows = try reference.int64("resized_row_indices").map(Int.init)
  let (shape, expected) = try reference.uint8("resized_rows")
  #expect(shape == [rows.count, size.width, 3])
  let rowLength = size.width * 3
  let sampled = rows.flatMap { resized.pixels[($0 * rowLength)..<(($0 + 1) * rowLength)] }
  let diff = Fixtures.difference(sampled, expected)
  #expect(diff.count == 0, "\(diff.count) samples differ, max |diff| \(diff.max)")
}

@Test func unchangedSizeIsACopy() {
  let image = PixelImage(width: 3, height: 2, format: .rgb, pixels: (0..<18).map(UInt8.init))
  #expect(pillowResize(image, width: 3, height: 2, filter: .bicubic) == image)
}

/// One source resized by Pillow straight to many sizes (resize_sweep.safetensors): every pass
/// combination and both sides of Pillow 13's pass-order rule. Windows computed alone (as the
/// preprocessor computes only the crop) must equal the same region of the full result.
@Test(arguments: ResamplingFilter.allCases)
func resizeSweepMatchesPillow(filter: ResamplingFilter) throws {
  let file = try Fixtures.ReferenceFile(Fixtures.directory.appendingPathComponent("resize_sweep.safetensors").path)
  let (shape, pixels) = try file.uint8("source")
  let source = PixelImage(width: shape[1], height: shape[0], format: .rgb, pixels: pixels)
  let targets = try file.int64("targets").map(Int.init)
  #expect(targets.count == 2 * 17)
  let filterName = ResamplingFilter.pillowName(ofID: filter.rawValue).lowercased()

  for i in stride(from: 0, to: targets.count, by: 2) {
    let (width, height) = (targets[i], targets[i + 1])
    let (expectedShape, expected) = try file.uint8("\(filterName)/\(width)x\(height)")
    try #require(expectedShape == [height, width, 3])
    let resized = pillowResize(source, width: width, height: height, filter: filter)
    let diff = Fixtures.difference(resized.pixels, expected)
    #expect(diff.count == 0, "\(width)x\(height): \(diff.count) samples differ, max |diff| \(diff.max)")

    let left = width / 3, top = height / 4
    let windows = [
      (left..<max(left + 1, width - width / 5), top..<max(top + 1, height - height / 3)),
      ((width - 1)..<width, (height - 1)..<height),
    ]
    for (columns, rows) in windows {
      let window = pillowResize(source, width: width, height: height, columns: columns, rows: rows, filter: filter)
      let slice = rows.flatMap { y in expected[((y * width + columns.lowerBound) * 3)..<((y * width + columns.upperBound) * 3)] }
      let windowDiff = Fixtures.difference(window.pixels, slice)
      #expect(windowDiff.count == 0, "\(width)x\(height) window \(columns) x \(rows): max |diff| \(windowDiff.max)")
    }
  }
}
