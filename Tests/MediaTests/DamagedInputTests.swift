import Foundation
import Media
import TestSupport
import Testing

/// The case of a MediaError, ignoring its text.
private enum Kind: Equatable {
  case unreadable, notMedia, noVideoStream, noAudioStream, unsupported, decodeFailed, truncated, outOfRange, tooLarge

  init(_ error: MediaError) {
    switch error {
    case .unreadable: self = .unreadable
    case .notMedia: self = .notMedia
    case .noVideoStream: self = .noVideoStream
    case .noAudioStream: self = .noAudioStream
    case .unsupported: self = .unsupported
    case .decodeFailed: self = .decodeFailed
    case .truncated: self = .truncated
    case .timestampOutOfRange: self = .outOfRange
    case .tooLarge: self = .tooLarge
    }
  }
}

/// Runs `body`, which must throw a MediaError of `kind` whose message names `path`.
private func expectError(_ kind: Kind, path: String, _ body: () throws -> Void) {
  do {
    try body()
    Issue.record("expected \(kind) for \(path), got no error")
  } catch let error as MediaError {
    #expect(Kind(error) == kind, "\(error)")
    #expect(error.path == path)
    let text = error.localizedDescription
    #expect(text.hasPrefix(path + ": ") && !text.contains("\n"), "\(text)")
  } catch {
    Issue.record("expected a MediaError, got \(error)")
  }
}

@Test func unopenableFilesGiveTypedErrorsNamingTheFile() throws {
  let cases: [(String, Kind)] = [
    (Fixtures.media("does_not_exist.mp4"), .unreadable),
    (Fixtures.media(""), .unreadable),  // the directory itself
    (Fixtures.media("empty.mp4"), .notMedia),
    (Fixtures.media("not_media.mp4"), .notMedia),
    (Fixtures.media("truncated_no_index.mp4"), .notMedia),
  ]
  for (path, kind) in cases {
    expectError(kind, path: path) { _ = try VideoReader(path: path) }
    expectError(kind, path: path) { _ = try AudioReader(path: path) }
    expectError(kind, path: path) { _ = try MediaInfo.probe(path: path) }
    expectError(kind, path: path) { _ = try StillImage.read(path: path) }
  }
}

@Test func missingStreamsAreNamed() {
  let audioOnly = Fixtures.media("tone.wav")
  expectError(.noVideoStream, path: audioOnly) { _ = try VideoReader(path: audioOnly) }
  let videoOnly = Fixtures.media("h264_bframes.mp4")
  expectError(.noAudioStream, path: videoOnly) { _ = try AudioReader(path: videoOnly) }
  // A stream index of the wrong kind.
  let sample = Fixtures.media("sample.mp4")
  expectError(.noVideoStream, path: sample) { _ = try VideoReader(path: sample, streamIndex: 1) }
  expectError(.noAudioStream, path: sample) { _ = try AudioReader(path: sample, streamIndex: 0) }
}

/// truncated.mp4 keeps the whole sample table (60 frames) but only 25 frames' packets: the index
/// holds the 25, every one decodes to the right picture, and the rest are a truncation error.
@Test func truncatedVideoDecodesWhatIsThereAndNamesTheRest() throws {
  let path = Fixtures.media("truncated.mp4")
  let reader = try VideoReader(path: path)
  #expect(reader.stream.containerFrameCount == 60)
  #expect(reader.index.count == 25)
  #expect(reader.stream.indexProblem != nil)
  for position in 0..<reader.index.count {
    #expect(drawnFrameNumber(try reader.frame(at: position).image) == position)
  }
  expectError(.truncated, path: path) { _ = try reader.frame(at: 30) }
  expectError(.truncated, path: path) { _ = try reader.frame(playedAt: 2.0) }
}

/// The header of overreported.avi claims 999 frames, that of underreported.avi 10; both hold 60.
@Test(arguments: [("overreported.avi", 999), ("underreported.avi", 10)])
func containerFrameCountIsNotTrusted(name: String, claimed: Int) throws {
  let path = Fixtures.media(name)
  let reader = try VideoReader(path: path)
  #expect(reader.stream.containerFrameCount == claimed)
  #expect(reader.index.count == 60)
  for position in [0, 9, 10, 59] {
    #expect(drawnFrameNumber(try reader.frame(at: position).image) == position)
  }
  expectError(.outOfRange, path: path) { _ = try reader.frame(at: 60) }
  expectError(.outOfRange, path: path) { _ = try reader.frame(playedAt: 30) }
}

/// corrupt.mp4 has 64 zero bytes inside frame 36's data. Frames that need it (its group of
/// pictures, 36-47, and the B-frames 34-35 decoded after it) are errors, never pictures; the others
/// decode correctly, in any order.
@Test func corruptDataIsAnErrorNeverAPicture() throws {
  let path = Fixtures.media("corrupt.mp4")
  let reader = try VideoReader(path: path)
  var failed: [Int] = []
  for position in [0, 20, 33, 34, 36, 40, 47, 48, 59, 12, 45] {
    do {
      let frame = try reader.frame(at: position)
      #expect(drawnFrameNumber(frame.image) == position, "frame \(position) decoded to a wrong picture")
    } catch let error as MediaError {
      #expect(Kind(error) == .decodeFailed)
      failed.append(position)
    }
  }
  #expect(failed == [34, 36, 40, 47, 45])
}

@Test func truncatedAudioIsAnError() {
  for name in ["truncated.wav", "truncated.flac"] {
    let path = Fixtures.media(name)
    do {
      let reader = try AudioReader(path: path)
      _ = try reader.readAll(maxSamples: 1_000_000)
      Issue.record("\(name) read without error")
    } catch let error as MediaError {
      #expect([.truncated, .decodeFailed].contains(Kind(error)), "\(error)")
      #expect(error.path == path)
    } catch {
      Issue.record("\(error)")
    }
  }
}

@Test func damagedStillsAreErrors() {
  for name in ["truncated.png", "truncated.jpg", "not_image.png"] {
    let path = Fixtures.image(name)
    do {
      _ = try StillImage.read(path: path)
      Issue.record("\(name) decoded without error")
    } catch let error as MediaError {
      #expect([.decodeFailed, .truncated, .notMedia].contains(Kind(error)), "\(error)")
      #expect(error.localizedDescription.hasPrefix(path))
    } catch {
      Issue.record("\(error)")
    }
  }
}

@Test func audioLimitsAreEnforced() throws {
  let path = Fixtures.media("speech.wav")
  let reader = try AudioReader(path: path)
  expectError(.tooLarge, path: path) { _ = try reader.readAll(maxSamples: 1000) }
}
