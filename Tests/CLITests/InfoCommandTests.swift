import Foundation
import TestSupport
import Testing

@Test func infoDescribesTheSampleVideo() throws {
  let result = try CLI.run(["info", "--json", Repository.fixture("media/sample.mp4")])
  #expect(result.status == 0, "stderr: \(result.stderr)")
  let files = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [[String: Any]])
  let video = try #require((files.first?["video"] as? [[String: Any]])?.first)
  let audio = try #require((files.first?["audio"] as? [[String: Any]])?.first)
  // make_media.sh: 3 s of 25 fps H.264 with an AAC track.
  #expect(video["codec"] as? String == "h264")
  #expect(video["indexedFrameCount"] as? Int == 75)
  #expect(video["isVariableFrameRate"] as? Bool == false)
  #expect(audio["codec"] as? String == "aac")
}

@Test func infoOnAMissingFileFailsWithOneLine() throws {
  let result = try CLI.run(["info", "/nonexistent/video.mp4"])
  #expect(result.status != 0)
  let lines = result.stderr.split(separator: "\n")
  #expect(lines.count == 1, "stderr: \(result.stderr)")
  #expect(result.stderr.contains("/nonexistent/video.mp4"))
}
