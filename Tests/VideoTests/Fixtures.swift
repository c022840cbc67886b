import Core
import Foundation
import Media
import TestSupport

/// Paths of the committed fixtures: media from fixtures/make_media.sh and gen_media_reference.py,
/// models from gen_clip.py, video references from gen_video.py.
enum Fixtures {
  static func media(_ name: String) -> String { Repository.fixture("media/\(name)") }
  /// A PNG of one video frame written by the ffmpeg CLI with the frame's own conversion filter.
  static func framePNG(_ stem: String) -> String { Repository.fixture("media/reference/frames/\(stem).png") }
  static func videoReference(_ name: String) -> String { Repository.fixture("reference/video/\(name)") }
  /// The tiny CLIPModel checkpoint whose vision tower the video tests encode with.
  static let model = Repository.fixture("models/clip-tiny-a")

  /// A JSON document written by gen_video.py.
  static func json<T: Decodable>(_ name: String, as type: T.Type) throws -> T {
    try JSONDecoder().decode(T.self, from: Data(contentsOf: URL(fileURLWithPath: videoReference(name))))
  }
}

/// A constant-frame-rate index of `count` frames, one tick of `1/rate` s apart, starting at 0.
func syntheticIndex(frames count: Int, rate: Int) -> FrameIndex {
  FrameIndex(
    timeBase: Rational(1, rate), pts: (0..<count).map(Int64.init), keyframes: [0],
    source: .packets, end: .endOfFile)
}
