import Foundation
import Media
import TestSupport
import Testing

/// Cuts numbered fixtures at several points (temporary copies) and reads each whole. Opening may
/// fail, and frames may fail, but only with a MediaError; every frame that decodes shows the
/// picture the complete file has at that timestamp. Frames whose packets were cut away are simply
/// absent (a B-frame shown before a surviving reference frame, for example), so positions count
/// the frames present. Nothing crashes, hangs or returns a damaged picture.
@Test(arguments: ["h264_bframes.mp4", "vfr.mkv", "mpeg2.ts", "mjpeg.avi", "vp9.webm", "ffv1.mkv", "mpeg4_bframes.avi"])
func truncatedCopiesFailCleanlyOrDecodeCorrectly(name: String) throws {
  let complete = try VideoReader(path: Fixtures.media(name)).index
  let original = try Data(contentsOf: URL(fileURLWithPath: Fixtures.media(name)))
  let directory = try makeTemporaryDirectory()
  defer { try? FileManager.default.removeItem(at: directory) }
  var decoded = 0
  for percent in [5, 30, 55, 80, 99] {
    let path = directory.appendingPathComponent("\(percent)-\(name)").path
    try original.prefix(original.count * percent / 100).write(to: URL(fileURLWithPath: path))
    let reader: VideoReader
    do {
      reader = try VideoReader(path: path)
    } catch is MediaError {
      continue
    }
    #expect(reader.index.count <= complete.count)
    for position in 0..<reader.index.count {
      let pts = reader.index.pts[position]
      let original = try #require(complete.position(pts: pts), "\(percent)% of \(name): unknown pts \(pts)")
      do {
        let frame = try reader.frame(at: position)
        #expect(drawnFrameNumber(frame.image) == original, "\(percent)% of \(name), frame \(position)")
        decoded += 1
      } catch is MediaError {
        continue
      }
    }
  }
  #expect(decoded > 0)
}
