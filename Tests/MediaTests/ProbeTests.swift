import Foundation
import Media
import Testing

@Test func probeReportsContainerAndStreams() throws {
  let info = try MediaInfo.probe(path: Fixtures.media("sample.mp4"))
  #expect(info.container.contains("mp4"))
  #expect(abs((info.duration ?? 0) - 3) < 0.05)
  let video = try #require(info.video.first)
  #expect(video.codec == "h264")
  #expect(video.width == 320 && video.height == 240)
  #expect(video.pixelFormat == "yuv420p")
  #expect(video.timeBase == Rational(1, 12800))
  #expect(video.rFrameRate == Rational(25, 1) && video.avgFrameRate == Rational(25, 1))
  #expect(video.containerFrameCount == 75 && video.indexedFrameCount == 75)
  // x264 with keyint 12 over 75 frames.
  #expect(video.keyframeCount == 7)
  #expect(video.isVariableFrameRate == false)
  #expect(video.hasReordering)
  #expect(video.orientation == .identity)
  #expect(video.color.matrix == "unknown")
  #expect(video.resolvedColor.matrix == .bt601 && video.resolvedColor.matrixSource == .fallback)
  let audio = try #require(info.audio.first)
  #expect(audio.codec == "aac")
  #expect(audio.sampleRate == 44100 && audio.channels == 1 && audio.channelLayout == "mono")
}

@Test func probeReportsTagsRotationAndFrameRateMode() throws {
  let hevc = try #require(try MediaInfo.probe(path: Fixtures.media("hevc_bt709.mp4")).video.first)
  #expect(hevc.color.matrix == "bt709" && hevc.color.range == "tv")
  #expect(hevc.color.primaries == "bt709" && hevc.color.transfer == "bt709")
  #expect(hevc.resolvedColor.matrixSource == .tag)

  let rotated = try #require(try MediaInfo.probe(path: Fixtures.media("rotate_cw90.mp4")).video.first)
  #expect(rotated.orientation == .rotate90)
  #expect(rotated.displayMatrixRotation == -90)
  #expect(rotated.displayWidth == 64 && rotated.displayHeight == 96)

  let vfr = try #require(try MediaInfo.probe(path: Fixtures.media("vfr.mkv")).video.first)
  #expect(vfr.isVariableFrameRate == true)
  #expect(vfr.containerFrameCount == nil && vfr.indexedFrameCount == 60)
  let durations = try #require(vfr.frameDuration)
  #expect(abs(durations.min - 0.02) < 1e-9 && abs(durations.max - 0.1) < 1e-9)

  let avi = try #require(try MediaInfo.probe(path: Fixtures.media("mpeg4_bframes.avi")).video.first)
  #expect(avi.indexSource == .decodedFrames && avi.indexedFrameCount == 60)
}

@Test func probeEncodesAsJSON() throws {
  let info = try MediaInfo.probe(path: Fixtures.media("mjpeg.avi"))
  let encoded = try JSONEncoder().encode(info)
  #expect(try JSONDecoder().decode(MediaInfo.self, from: encoded) == info)
  let object = try #require(try JSONSerialization.jsonObject(with: encoded) as? [String: Any])
  let video = try #require((object["video"] as? [[String: Any]])?.first)
  #expect(video["indexedFrameCount"] as? Int == 60)
  #expect(video["containerFrameCount"] as? Int == 60)
  #expect(video["timeBase"] as? String == "1/25")
}
