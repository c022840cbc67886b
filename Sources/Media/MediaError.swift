import Foundation

/// Why a media file could not be read. Every case names the file; ``errorDescription`` is one line.
public enum MediaError: Error, LocalizedError, Equatable, Sendable {
  /// The path is missing, is a directory, or cannot be opened.
  case unreadable(path: String, reason: String)
  /// The file is empty or no demuxer or image decoder recognises it.
  case notMedia(path: String, reason: String)
  case noVideoStream(path: String)
  case noAudioStream(path: String)
  /// The Debian FFmpeg build has no decoder for the stream, or the stream uses a feature mmencode
  /// does not handle (for example a display rotation that is not a multiple of 90 degrees).
  case unsupported(path: String, reason: String)
  /// The decoder rejected data or produced a damaged frame; `reason` quotes FFmpeg where it can.
  case decodeFailed(path: String, reason: String)
  /// The file ends before data its header promises.
  case truncated(path: String, reason: String)
  /// A requested time or presentation timestamp has no frame.
  case timestampOutOfRange(path: String, reason: String)
  /// Sizes or counts beyond the sanity limits (a damaged header, or not a file mmencode is for).
  case tooLarge(path: String, reason: String)

  /// The file the error is about.
  public var path: String {
    switch self {
    case .unreadable(let path, _), .notMedia(let path, _), .noVideoStream(let path),
      .noAudioStream(let path), .unsupported(let path, _), .decodeFailed(let path, _),
      .truncated(let path, _), .timestampOutOfRange(let path, _), .tooLarge(let path, _):
      path
    }
  }

  public var errorDescription: String? {
    switch self {
    case .unreadable(let path, let reason): "\(path): cannot read: \(reason)"
    case .notMedia(let path, let reason): "\(path): not a media file: \(reason)"
    case .noVideoStream(let path): "\(path): has no video stream"
    case .noAudioStream(let path): "\(path): has no audio stream"
    case .unsupported(let path, let reason): "\(path): unsupported: \(reason)"
    case .decodeFailed(let path, let reason): "\(path): decoding failed: \(reason)"
    case .truncated(let path, let reason): "\(path): truncated: \(reason)"
    case .timestampOutOfRange(let path, let reason): "\(path): timestamp out of range: \(reason)"
    case .tooLarge(let path, let reason): "\(path): too large: \(reason)"
    }
  }
}
