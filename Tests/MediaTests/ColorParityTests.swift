import CFFmpeg
import Foundation
import Media
import Testing

/// One entry of fixtures/media/reference/frames/frames.json: a frame the ffmpeg CLI converted.
struct FrameReference: Decodable {
  let video: String
  let frame: Int
  let command: String
}

private let frameReferences = (try? Fixtures.manifest("frames/frames.json", as: [String: FrameReference].self)) ?? [:]

/// Decoded frames are bit-identical to the ffmpeg CLI's `scale` filter given the same matrix,
/// range and flags (the command is in frames.json), for every codec, pixel format (4:2:0, 4:4:4,
/// 10-bit, full-range MJPEG, odd sizes), colour tag and orientation among the fixtures.
@Test(arguments: frameReferences.keys.sorted())
func frameIsBitIdenticalToTheFFmpegCLI(reference: String) throws {
  let entry = try #require(frameReferences[reference])
  let expected = try StillImage.read(path: Fixtures.reference("frames/\(reference)"))
  let frame = try VideoReader(path: Fixtures.media(entry.video)).frame(at: entry.frame)
  #expect(frame.image.width == expected.width && frame.image.height == expected.height)
  try #require(frame.image.pixels.count == expected.pixels.count)
  #expect(maxDifference(frame.image.pixels, expected.pixels) == 0, "\(entry.command)")
  // The filter the frame reports is the one the reference was made with.
  #expect(entry.command.contains("select=eq(n\\,\(entry.frame)),\(frame.ffmpegFilter) "), "\(frame.ffmpegFilter)")
}

@Test func untaggedStreamsFallBackAsFFmpegDoes() throws {
  let untagged = try VideoReader(path: Fixtures.media("h264_bframes.mp4")).frame(at: 0)
  #expect(untagged.color.matrix == .bt601 && untagged.color.matrixSource == .fallback)
  #expect(untagged.color.range == .limited && untagged.color.rangeSource == .fallback)
  let tagged = try VideoReader(path: Fixtures.media("hevc_bt709.mp4")).frame(at: 0)
  #expect(tagged.color.matrix == .bt709 && tagged.color.matrixSource == .tag)
  let jpeg = try VideoReader(path: Fixtures.media("mjpeg.avi")).frame(at: 0)
  #expect(jpeg.color.range == .full)
}

@Test func overridesChangeTheConversion() throws {
  let path = Fixtures.media("h264_bframes.mp4")
  let standard = try VideoReader(path: path).frame(at: 30)
  let hd = try VideoReader(path: path, color: ColorSettings(matrix: .bt709)).frame(at: 30)
  #expect(hd.color.matrix == .bt709 && hd.color.matrixSource == .override)
  #expect(hd.image != standard.image)
  // The player-style guess only switches to BT.709 for HD sizes; this stream is 96x64.
  let bySize = try VideoReader(path: path, color: ColorSettings(untaggedMatrix: .bySize)).frame(at: 30)
  #expect(bySize.image == standard.image)
  #expect(ColorSettings.default.canonicalDescription != ColorSettings(matrix: .bt709).canonicalDescription)
}

@Test func untaggedMatrixRuleDependsOnSizeOnlyWhenAskedTo() {
  func matrix(_ settings: ColorSettings, _ width: Int, _ height: Int) -> ColorMatrix? {
    settings.resolve(
      format: AV_PIX_FMT_YUV420P, colorspace: AVCOL_SPC_UNSPECIFIED, colorRange: AVCOL_RANGE_UNSPECIFIED,
      width: width, height: height
    ).matrix
  }
  let players = ColorSettings(untaggedMatrix: .bySize)
  #expect(matrix(.default, 1920, 1080) == .bt601)
  #expect(matrix(players, 1920, 1080) == .bt709)
  #expect(matrix(players, 1280, 536) == .bt709)  // wide enough
  #expect(matrix(players, 720, 576) == .bt601)  // PAL SD
  #expect(matrix(players, 720, 577) == .bt709)
  // A tag always wins over the rule.
  let tagged = players.resolve(
    format: AV_PIX_FMT_YUV420P, colorspace: AVCOL_SPC_BT470BG, colorRange: AVCOL_RANGE_MPEG, width: 1920, height: 1080)
  #expect(tagged.matrix == .bt601 && tagged.matrixSource == .tag)
}
