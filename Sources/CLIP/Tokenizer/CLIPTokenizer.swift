// A port of Hugging Face's slow `CLIPTokenizer` (transformers 4.57,
// `models/clip/tokenization_clip.py`, with `PreTrainedTokenizer.tokenize` from
// `tokenization_utils.py`) as it runs with ftfy installed.
import Foundation

/// CLIP's byte-level BPE tokenizer, loaded from a model directory's `vocab.json` and `merges.txt`.
///
/// It gives the ids of Hugging Face's slow `CLIPTokenizer` with ftfy installed (transformers
/// 4.57.6, ftfy 6.3.1; tested on a corpus of several hundred strings):
/// 1. The text is split at exact occurrences of `<|startoftext|>` and `<|endoftext|>`, which
///    become their ids; whitespace around them stays with the neighbouring pieces.
/// 2. Each piece is cleaned as `ftfy.fix_text` does (see ``TextFixer``), lower-cased as Python's
///    `str.lower()` does (final sigma included), and split into words (see ``PreTokenizer``);
///    a differently cased literal such as `<|ENDOFTEXT|>` also becomes its id there.
/// 3. Each word's UTF-8 bytes are byte-pair encoded (see ``BytePairEncoder``).
///
/// Known differences from the reference, all outside typical text:
/// - ftfy's mojibake repair (`fix_encoding`) is not ported. The reference re-decodes a line
///   when ftfy's badness heuristic flags it: UTF-8 read as Latin-1 or Windows-125x ("CafÃ©",
///   "â€œ", "doesnÃ¢â‚¬â„¢t") becomes "Café", "\u{201C}", "doesn't" there and stays as written
///   here; so do the rare legitimate lines the heuristic also flags ("Â bientôt" becomes
///   "\u{A0}bientôt" and "×² area" becomes "ײ area" there). Lines that are pure ASCII, or whose
///   non-ASCII characters form none of the heuristic's patterns, are never affected.
/// - Unicode versions: the letter and number classes come from the Swift 6.3 standard library
///   (Unicode 16.0), the reference's from `regex` 2026.11.19, which knows newer Unicode. The
///   12,823 scalars unassigned in 16.0 that `regex` knows (mostly new ideographs, such as
///   U+3D000...U+3FC3F) are letters or numbers there and punctuation-like here. NFC and
///   lower-casing follow Python 3.11's Unicode 14.0 exactly: scalars assigned after 14.0 are
///   left as Python leaves them (lower-casing is tested on every scalar).
///
/// Only `vocab.json` and `merges.txt` are read. A `tokenizer_config.json` as CLIP checkpoints
/// ship it changes no id in the reference: the slow tokenizer ignores its `do_lower_case`, and
/// its `model_max_length` only defaults the truncation length, which is explicit here. Extra
/// added tokens, or special tokens that strip whitespace, which no CLIP checkpoint declares, are
/// not supported.
///
/// Thread-safe: one tokenizer can serve concurrent callers, which share its word cache.
public final class CLIPTokenizer: Sendable {
  public static let vocabularyFileName = "vocab.json"
  public static let mergesFileName = "merges.txt"
  public static let startOfTextToken = "<|startoftext|>"
  public static let endOfTextToken = "<|endoftext|>"
  /// Start-of-text and end-of-text frame every tokenized text.
  public static let specialTokensPerText = 2
  /// The slow tokenizer reads at most this many merges (`49152 - 256 - 2` in
  /// `tokenization_clip.py`): CLIP's vocabulary is 2 x 256 byte symbols, one token per merge, and
  /// the two special tokens.
  public static let maxMergeCount = 49152 - 256 - 2

  /// How ``tokenize(_:contextLength:truncation:padding:)`` treats text longer than the context.
  public enum Truncation: Sendable {
    /// Throw ``TokenizerError/textTooLong(tokenCount:contextLength:)``.
    case error
    /// Keep the first content tokens that fit and end with end-of-text, as Hugging Face's
    /// `truncation=True` and Long-CLIP's `tokenize(truncate=True)` both do.
    case truncate
  }

  /// What fills the positions after end-of-text.
  public enum Padding: Sendable {
    /// End-of-text ids, as Hugging Face's CLIP tokenizers pad (their pad token is end-of-text).
    case endOfText
    /// Id 0 (the token "!"), as OpenAI's and Long-CLIP's `tokenize` pad.
    case zero
    /// No padding: start-of-text, the content, end-of-text.
    case none
  }

  public let startOfTextID: Int
  public let endOfTextID: Int
  /// Number of entries in `vocab.json`.
  public let vocabularySize: Int
  private let specialTokens: [(scalars: [Unicode.Scalar], id: Int)]
  private let encoder: BytePairEncoder

  /// Loads `vocab.json` and `merges.txt` from a model directory.
  public convenience init(directory: String) throws {
    let base = URL(fileURLWithPath: directory)
    try self.init(
      vocabularyPath: base.appendingPathComponent(Self.vocabularyFileName).path,
      mergesPath: base.appendingPathComponent(Self.mergesFileName).path)
  }

  /// Loads the two tokenizer files; throws ``TokenizerError`` naming the file that is missing,
  /// unreadable or malformed (including a vocabulary without the special tokens).
  public init(vocabularyPath: String, mergesPath: String) throws {
    let vocabulary = try Self.readVocabulary(vocabularyPath)
    let merges = try Self.readMerges(mergesPath)
    func id(of token: String) throws -> Int {
      guard let id = vocabulary[token] else {
        throw TokenizerError.malformed(path: vocabularyPath, reason: "no token \"\(token)\"")
      }
      return id
    }
    startOfTextID = try id(of: Self.startOfTextToken)
    endOfTextID = try id(of: Self.endOfTextToken)
    vocabularySize = vocabulary.count
    let specials = [Self.startOfTextToken: startOfTextID, Self.endOfTextToken: endOfTextID]
    specialTokens = specials.map { (Array($0.key.unicodeScalars), $0.value) }
    // The reference's unknown token is end-of-text.
    encoder = BytePairEncoder(
      vocabulary: vocabulary, merges: merges, unknownID: endOfTextID, wholeWords: specials)
  }

  /// The number of content tokens a context of `contextLength` positions holds (75 for CLIP's 77).
  public static func contentCapacity(contextLength: Int) -> Int {
    contextLength - specialTokensPerText
  }

  /// The ids of `text` without start-of-text and end-of-text: Hugging Face's
  /// `tokenizer(text, add_special_tokens=False)["input_ids"]`. Its count is the number of
  /// content tokens.
  public func encode(_ text: String) -> [Int] {
    let scalars = Array(text.unicodeScalars)
    var ids: [Int] = []
    var pieceStart = 0
    var index = 0
    while index < scalars.count {
      guard scalars[index] == "<", let special = specialToken(in: scalars, at: index) else {
        index += 1
        continue
      }
      encodePiece(scalars[pieceStart..<index], into: &ids)
      ids.append(special.id)
      index += special.scalars.count
      pieceStart = index
    }
    encodePiece(scalars[pieceStart...], into: &ids)
    return ids
  }

  /// Start-of-text, the content ids, end-of-text, then padding up to `contextLength`.
  ///
  /// `contextLength` is the text model's `max_position_embeddings` (77 for CLIP, 248 for
  /// Long-CLIP). Text with more than ``contentCapacity(contextLength:)`` content tokens throws
  /// ``TokenizerError/textTooLong(tokenCount:contextLength:)`` under `.error` and loses its tail
  /// under `.truncate`; ``TokenizedText/droppedCount`` says how many tokens were lost.
  public func tokenize(
    _ text: String, contextLength: Int, truncation: Truncation = .error,
    padding: Padding = .endOfText
  ) throws -> TokenizedText {
    let capacity = Self.contentCapacity(contextLength: contextLength)
    guard capacity >= 0 else {
      throw TokenizerError.contextTooShort(
        contextLength: contextLength, minimum: Self.specialTokensPerText)
    }
    var content = encode(text)
    let dropped = max(0, content.count - capacity)
    if dropped > 0 {
      guard truncation == .truncate else {
        throw TokenizerError.textTooLong(
          tokenCount: content.count + Self.specialTokensPerText, contextLength: contextLength)
      }
      content.removeLast(dropped)
    }
    var ids = [startOfTextID] + content + [endOfTextID]
    let padID: Int? =
      switch padding {
      case .endOfText: endOfTextID
      case .zero: 0
      case .none: nil
      }
    if let padID { ids += repeatElement(padID, count: contextLength - ids.count) }
    return TokenizedText(ids: ids, contentCount: content.count, droppedCount: dropped)
  }

  // MARK: encoding

  private func specialToken(in scalars: [Unicode.Scalar], at index: Int) -> (
    scalars: [Unicode.Scalar], id: Int
  )? {
    specialTokens.first { special in
      index + special.scalars.count <= scalars.count
        && scalars[index..<(index + special.scalars.count)].elementsEqual(special.scalars)
    }
  }

  /// `CLIPTokenizer._tokenize` on text between special tokens.
  private func encodePiece(_ piece: ArraySlice<Unicode.Scalar>, into ids: inout [Int]) {
    guard !piece.isEmpty else { return }
    let text = PythonUnicode.lowercased(TextFixer.fixText(Array(piece)))
    var word: [UInt8] = []
    PreTokenizer.forEachWord(in: text) { range in
      word.removeAll(keepingCapacity: true)
      for scalar in text[range] { UTF8.encode(scalar) { word.append($0) } }
      encoder.encode(word, into: &ids)
    }
  }

  // MARK: files

  private static func read(_ path: String) throws -> Data {
    guard FileManager.default.fileExists(atPath: path) else {
      throw TokenizerError.missingFile(path: path)
    }
    do {
      return try Data(contentsOf: URL(fileURLWithPath: path))
    } catch {
      throw TokenizerError.unreadable(path: path, reason: error.localizedDescription)
    }
  }

  private static func readVocabulary(_ path: String) throws -> [String: Int] {
    let data = try read(path)
    do {
      return try JSONDecoder().decode([String: Int].self, from: data)
    } catch {
      throw TokenizerError.malformed(path: path, reason: "not a JSON object of token to id")
    }
  }

  /// The reference strips the file, drops its first line (the "#version" header), splits each
  /// other line at whitespace and reads at most ``maxMergeCount`` lines. Byte-level symbols are
  /// never whitespace, so splitting at ASCII whitespace is the same. A line with one or three
  /// symbols the reference would keep as a pair that never matches; here it is an error.
  private static func readMerges(_ path: String) throws -> [(String, String)] {
    let bytes = [UInt8](try read(path))
    guard String(validating: bytes, as: UTF8.self) != nil else {
      throw TokenizerError.malformed(path: path, reason: "not UTF-8 text")
    }
    // Python's str.isspace() in ASCII: tab to carriage return, the separators 0x1C-0x1F, space.
    func isSpace(_ byte: UInt8) -> Bool {
      (0x09...0x0D).contains(byte) || (0x1C...0x20).contains(byte)
    }
    let start = bytes.firstIndex { !isSpace($0) } ?? bytes.endIndex
    let end = (bytes.lastIndex { !isSpace($0) }).map { $0 + 1 } ?? start
    let lines = bytes[start..<end].split(
      separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false)
    guard let header = lines.first, header.first == UInt8(ascii: "#") else {
      throw TokenizerError.malformed(path: path, reason: "first line is not a \"#version\" header")
    }
    var merges: [(String, String)] = []
    merges.reserveCapacity(min(lines.count, maxMergeCount))
    for (offset, line) in lines.dropFirst().prefix(maxMergeCount).enumerated() {
      let symbols = line.split(whereSeparator: isSpace)
      if symbols.isEmpty { continue }  // a blank line: a pair that never matches
      guard symbols.count == 2 else {
        throw TokenizerError.malformed(
          path: path, reason: "line \(offset + 2): expected two symbols separated by a space")
      }
      merges.append(
        (String(decoding: symbols[0], as: UTF8.self), String(decoding: symbols[1], as: UTF8.self)))
    }
    return merges
  }
}

/// A tokenized text: ids for the text model, and how much of the text they hold.
public struct TokenizedText: Sendable, Equatable {
  /// [contextLength] ids, or start-of-text + content + end-of-text when not padded.
  public var ids: [Int]
  /// Content tokens kept between start-of-text and end-of-text.
  public var contentCount: Int
  /// Content tokens cut off by ``CLIPTokenizer/Truncation/truncate`` (0 when nothing was cut).
  public var droppedCount: Int
}
