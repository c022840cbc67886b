import Foundation

/// Why a CLIP tokenizer could not be loaded, or could not fit a text into a context.
///
/// Every case reads as one line: file errors name the file, length errors name both counts.
public enum TokenizerError: Error, Equatable, LocalizedError {
  /// A tokenizer file is not in the model directory.
  case missingFile(path: String)
  /// A tokenizer file exists but could not be read.
  case unreadable(path: String, reason: String)
  /// A tokenizer file's content is not what Hugging Face's `save_pretrained` writes.
  case malformed(path: String, reason: String)
  /// The text needs more positions than the context has, and the truncation policy is `.error`.
  /// `tokenCount` includes start-of-text and end-of-text, as the context length does.
  case textTooLong(tokenCount: Int, contextLength: Int)
  /// The context cannot hold even start-of-text and end-of-text.
  case contextTooShort(contextLength: Int, minimum: Int)

  public var errorDescription: String? {
    switch self {
    case .missingFile(let path): "\(path): tokenizer file not found"
    case .unreadable(let path, let reason): "\(path): cannot read: \(reason)"
    case .malformed(let path, let reason): "\(path): malformed: \(reason)"
    case .textTooLong(let tokenCount, let contextLength):
      "text is \(tokenCount) tokens long (with start and end of text), more than the context "
        + "length \(contextLength); shorten it or allow truncation"
    case .contextTooShort(let contextLength, let minimum):
      "context length \(contextLength) is too short: a text needs at least \(minimum) positions"
    }
  }
}
