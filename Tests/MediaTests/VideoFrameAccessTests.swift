import Foundation
import Media
import TestSupport
import Testing

/// Every fixture whose 60 frames draw their own index (make_media.sh's pattern).
let numberedVideos = [
  "h264_bframes.mp4", "vfr.mkv", "start_offset.mp4", "odd_67x39.webm", "mpeg4.mp4", "vp9.webm",
  "mjpeg.avi", "hevc_bt709.mp4", "ffv1.mkv", "mpeg2.ts", "av1_10bit.mkv", "mpeg4_bframes.avi",
  "overreported.avi",
]
let numberedFrameCount = 60

@Test(arguments: numberedVideos)
func everyFrameInOrderShowsItsIndex(name: String) throws {
  let reader = try VideoReader(path: Fixtures.media(name))
  #expect(reader.index.count == numberedFrameCount)
  for position in 0..<reader.index.count {
    let frame = try reader.frame(at: position)
    #expect(frame.index == position)
    #expect(drawnFrameNumber(frame.image) == position, "frame \(position)")
  }
  // In order from a freshly opened file: no seek at all, and each frame decoded once.
  #expect(reader.repositions == 0)
  #expect(reader.framesDecoded == numberedFrameCount)
  #expect(reader.framesConverted == numberedFrameCount)
}

@Test(arguments: numberedVideos)
func scatteredRequestsDecodeTheRightFrames(name: String) throws {
  let reader = try VideoReader(path: Fixtures.media(name))
  // Backwards, repeated, across keyframes, inside one group of pictures, last and first.
  let positions = [59, 3, 3, 40, 13, 14, 26, 0, 58, 25, 12, 11, 47]
  for position in positions {
    let frame = try reader.frame(at: position)
    #expect(drawnFrameNumber(frame.image) == position, "frame \(position) of \(name)")
    #expect(frame.pts == reader.index.pts[position])
  }
}

@Test(arguments: ["h264_bframes.mp4", "hevc_bt709.mp4", "vp9.webm", "mpeg2.ts"])
func sparseSamplingConvertsOnlyRequestedFrames(name: String) throws {
  let reader = try VideoReader(path: Fixtures.media(name))
  // One frame per second at 25 fps, plus one right after a keyframe.
  let positions = [0, 25, 50, 51]
  var seen: [Int] = []
  for position in positions { seen.append(drawnFrameNumber(try reader.frame(at: position).image)) }
  #expect(seen == positions)
  #expect(reader.framesConverted == positions.count)
  // Keyframes every 12 frames: frames 25 and 50 are reached by seeking, so well under all 60 frames
  // pass through the decoder.
  #expect(reader.framesDecoded < 40, "decoded \(reader.framesDecoded)")
}

@Test func asyncSequenceYieldsRequestedFramesInOrder() async throws {
  let reader = try VideoReader(path: Fixtures.media("h264_bframes.mp4"))
  var seen: [Int] = []
  for try await frame in reader.frames(at: [5, 17, 18, 44]) { seen.append(drawnFrameNumber(frame.image)) }
  #expect(seen == [5, 17, 18, 44])
}

@Test(arguments: ["h264_bframes.mp4", "hevc_bt709.mp4", "vp9.webm"])
func decoderThreadsDoNotChangePixels(name: String) throws {
  let single = try VideoReader(path: Fixtures.media(name), threads: 1)
  let threaded = try VideoReader(path: Fixtures.media(name), threads: 3)
  for position in [0, 7, 8, 31, 59, 30] {
    #expect(try single.frame(at: position) == threaded.frame(at: position), "frame \(position)")
  }
}
