// How LongAlign cuts a prompt into segments: the published splitter (luping-liu/LongAlign
// `tools.py`, `caption2embed`; spec B2) and mmencode's opt-in clean splitter (spec C4, C5).

import Foundation

/// Which splitter cuts a text into LongAlign segments.
public enum SegmentSplitting: String, Sendable, CaseIterable {
  /// The published code's splitting, bugs included (``FaithfulSplitter``); what the released
  /// LongSD weights were trained with. Segments longer than the window are truncated.
  case faithful
  /// Sentence splitting that respects decimals, abbreviations and CJK punctuation, packs short
  /// sentences into one segment and never truncates (``CleanSegmenter``). Untested with the
  /// released LongSD weights.
  case clean
}

/// One segment of a text, tokenized for the window.
public struct TextSegment: Sendable, Equatable {
  /// The segment as encoded: a piece of the text (faithful mode appends ".").
  public var text: String
  /// Start-of-text, the content, end-of-text; no padding.
  public var ids: [Int]
  /// Content tokens cut off to fit the window (faithful mode only; clean mode never cuts).
  public var droppedCount: Int

  public init(text: String, ids: [Int], droppedCount: Int) {
    self.text = text
    self.ids = ids
    self.droppedCount = droppedCount
  }
}

/// The splitting of LongAlign's published code, reproduced exactly (spec B2).
///
/// The code splits with the regular expression `"!|\.|\?|;"`, whose four alternatives are `"!`,
/// `.`, `?` and `;"`; so `!` and `;` on their own never split, and decimals, abbreviations and
/// URLs are cut at their dots. Empty pieces are dropped and every other piece gets a "." appended
/// (also after a "?"); nothing is stripped or merged. A text that leaves no piece is its own
/// single segment.
public enum FaithfulSplitter {
  /// The two-character delimiters of the pattern, and its one-character ones.
  private static let pairs: [(Unicode.Scalar, Unicode.Scalar)] = [("\"", "!"), (";", "\"")]
  private static let singles: Set<Unicode.Scalar> = [".", "?"]
  /// What the code appends to every piece.
  static let terminator = "."

  /// The segments of `text`, as `[s + "." for s in re.split(pattern, text) if len(s) > 0]` or
  /// `[text]` when that is empty.
  public static func split(_ text: String) -> [String] {
    let scalars = Array(text.unicodeScalars)
    var pieces: [String] = []
    var start = 0
    var index = 0
    func cut(at end: Int, skipping width: Int) {
      if end > start { pieces.append(string(scalars[start..<end]) + terminator) }
      index = end + width
      start = index
    }
    // re.split scans left to right and tries the alternatives in order at each position.
    while index < scalars.count {
      let scalar = scalars[index]
      if index + 1 < scalars.count, pairs.contains(where: { $0 == (scalar, scalars[index + 1]) }) {
        cut(at: index, skipping: 2)
      } else if singles.contains(scalar) {
        cut(at: index, skipping: 1)
      } else {
        index += 1
      }
    }
    if scalars.count > start { pieces.append(string(scalars[start...]) + terminator) }
    return pieces.isEmpty ? [text] : pieces
  }
}

/// mmencode's opt-in splitter: whole sentences, packed into as few segments as the window allows.
///
/// 1. Sentences end at `.`, `!`, `?`, `;` and their CJK forms `。！？；`, after any run of further
///    terminators and closing quotes or brackets. A `.` does not end a sentence when a letter or
///    digit follows it directly ("3.14", "e.g", "U.S", "example.com"), nor after a single letter
///    (an initial) or a common abbreviation ("Dr.", "e.g.", "U.S.", "etc." is not one).
/// 2. Consecutive sentences are packed into one segment while its tokens fit the window's content
///    capacity; a segment's text runs from its first sentence's start to its last one's end.
/// 3. A sentence too long for the window is cut between words, as late as keeps each piece within
///    the window, and a word longer than the window after its longest prefix that fits; so no text
///    is lost (unless a window cannot hold even one character's tokens).
public struct CleanSegmenter: Sendable {
  public let tokenizer: CLIPTokenizer
  /// Window positions (start-of-text and end-of-text included).
  public let contextLength: Int

  /// Words that end with a "." without ending a sentence, lower-cased, without their final dot.
  static let abbreviations: Set<String> = [
    "mr", "mrs", "ms", "dr", "prof", "sr", "jr", "st", "mt", "vs", "cf", "fig", "approx",
    "e.g", "i.e", "u.s", "u.k", "u.n", "a.m", "p.m", "inc", "ltd",
  ]
  static let sentenceEnds: Set<Unicode.Scalar> = [
    ".", "!", "?", ";", "\u{3002}", "\u{FF01}", "\u{FF1F}", "\u{FF1B}",
  ]
  /// Closing marks that stay with the sentence they follow.
  static let closers: Set<Unicode.Scalar> = [
    "\"", "'", ")", "]", "}", "\u{201D}", "\u{2019}", "\u{300D}", "\u{300F}", "\u{FF09}",
    "\u{300B}",
  ]

  public init(tokenizer: CLIPTokenizer, contextLength: Int) {
    precondition(
      CLIPTokenizer.contentCapacity(contextLength: contextLength) >= 1,
      "a window of \(contextLength) positions holds no content token")
    self.tokenizer = tokenizer
    self.contextLength = contextLength
  }

  private var capacity: Int { CLIPTokenizer.contentCapacity(contextLength: contextLength) }

  /// The sentences of `text` (rule 1), as scalar ranges without surrounding whitespace.
  static func sentenceRanges(_ scalars: [Unicode.Scalar]) -> [Range<Int>] {
    var ranges: [Range<Int>] = []
    var start = 0
    var index = 0
    while index < scalars.count {
      guard sentenceEnds.contains(scalars[index]), endsSentence(scalars, at: index) else {
        index += 1
        continue
      }
      var end = index + 1
      while end < scalars.count, sentenceEnds.contains(scalars[end]) || closers.contains(scalars[end]) {
        end += 1
      }
      ranges.append(start..<end)
      start = end
      index = end
    }
    ranges.append(start..<scalars.count)
    return ranges.compactMap { trimmed($0, scalars) }
  }

  /// The sentences of `text` (rule 1).
  public static func sentences(_ text: String) -> [String] {
    let scalars = Array(text.unicodeScalars)
    return sentenceRanges(scalars).map { string(scalars[$0]) }
  }

  private static func endsSentence(_ scalars: [Unicode.Scalar], at index: Int) -> Bool {
    guard scalars[index] == "." else { return true }
    if index + 1 < scalars.count, isWordScalar(scalars[index + 1]) { return false }
    var wordStart = index
    while wordStart > 0, isWordScalar(scalars[wordStart - 1]) || scalars[wordStart - 1] == "." {
      wordStart -= 1
    }
    let word = string(scalars[wordStart..<index]).lowercased()
    let isInitial = word.unicodeScalars.count == 1 && word.unicodeScalars.first!.properties.isAlphabetic
    return !(isInitial || abbreviations.contains(word))
  }

  private static func isWordScalar(_ scalar: Unicode.Scalar) -> Bool {
    scalar.properties.isAlphabetic || scalar.properties.numericType != nil
  }

  /// The segments of `text` (rules 2 and 3); an empty or blank text is one empty segment.
  public func segments(_ text: String) -> [TextSegment] {
    let scalars = Array(text.unicodeScalars)
    var pieces: [Range<Int>] = []
    for sentence in Self.sentenceRanges(scalars) {
      if count(scalars[sentence]) <= capacity {
        pieces.append(sentence)
      } else {
        pieces += split(sentence, scalars)
      }
    }
    var segments: [TextSegment] = []
    var current: Range<Int>?
    func close() {
      guard let range = current else { return }
      let piece = string(scalars[range])
      // Cannot throw: truncation is allowed and init checked that the window holds content.
      // Truncation itself only happens to a window too small for one character's tokens.
      let tokenized = try! tokenizer.tokenize(
        piece, contextLength: contextLength, truncation: .truncate, padding: .none)
      segments.append(
        TextSegment(text: piece, ids: tokenized.ids, droppedCount: tokenized.droppedCount))
      current = nil
    }
    for piece in pieces {
      if let range = current, count(scalars[range.lowerBound..<piece.upperBound]) <= capacity {
        current = range.lowerBound..<piece.upperBound
      } else {
        close()
        current = piece
      }
    }
    close()
    return segments.isEmpty
      ? [TextSegment(text: "", ids: [tokenizer.startOfTextID, tokenizer.endOfTextID], droppedCount: 0)]
      : segments
  }

  private func count(_ scalars: ArraySlice<Unicode.Scalar>) -> Int {
    tokenizer.encode(string(scalars)).count
  }

  /// Rule 3: pieces of `range` that each fit the window.
  ///
  /// Words (runs between whitespace) are counted one at a time, which is what the whole piece
  /// costs because CLIP's tokenizer never joins across whitespace; each piece is still counted
  /// whole before it is accepted, and shortened word by word if cleaning joined something after
  /// all. So a long sentence costs a linear number of encodes.
  private func split(_ range: Range<Int>, _ scalars: [Unicode.Scalar]) -> [Range<Int>] {
    var words: [Range<Int>] = []
    var index = range.lowerBound
    while index < range.upperBound {
      while index < range.upperBound, scalars[index].properties.isWhitespace { index += 1 }
      let start = index
      while index < range.upperBound, !scalars[index].properties.isWhitespace { index += 1 }
      if index > start { words.append(start..<index) }
    }
    var pieces: [Range<Int>] = []
    var next = 0
    while next < words.count {
      var end = next
      var tokens = 0
      while end < words.count {
        let cost = count(scalars[words[end]])
        if tokens + cost > capacity { break }
        tokens += cost
        end += 1
      }
      while end > next + 1, count(scalars[words[next].lowerBound..<words[end - 1].upperBound]) > capacity {
        end -= 1
      }
      if end == next {
        // One word longer than the window: cut it into prefixes that fit.
        var start = words[next].lowerBound
        let wordEnd = words[next].upperBound
        while start < wordEnd {
          let cut =
            count(scalars[start..<wordEnd]) <= capacity
            ? wordEnd : longestFittingPrefix(start..<wordEnd, scalars)
          pieces.append(start..<cut)
          start = cut
        }
        next += 1
      } else {
        pieces.append(words[next].lowerBound..<words[end - 1].upperBound)
        next = end
      }
    }
    return pieces
  }

  /// The end of the longest prefix of `range` (at least one scalar) whose tokens fit the window,
  /// found by doubling then bisecting; `range` as a whole must not fit.
  private func longestFittingPrefix(_ range: Range<Int>, _ scalars: [Unicode.Scalar]) -> Int {
    let start = range.lowerBound
    var fits = start + 1
    var step = 1
    var tooLong = range.upperBound
    while fits + step < range.upperBound {
      if count(scalars[start..<(fits + step)]) <= capacity {
        fits += step
        step *= 2
      } else {
        tooLong = fits + step
        break
      }
    }
    var (low, high) = (fits, tooLong)  // low fits, high does not (or is the end)
    while high - low > 1 {
      let middle = (low + high) / 2
      if count(scalars[start..<middle]) <= capacity { low = middle } else { high = middle }
    }
    return low
  }

  private static func trimmed(_ range: Range<Int>, _ scalars: [Unicode.Scalar]) -> Range<Int>? {
    var (lower, upper) = (range.lowerBound, range.upperBound)
    while lower < upper, scalars[lower].properties.isWhitespace { lower += 1 }
    while upper > lower, scalars[upper - 1].properties.isWhitespace { upper -= 1 }
    return lower < upper ? lower..<upper : nil
  }
}

/// The text of a run of scalars, scalar for scalar.
private func string<S: Sequence<Unicode.Scalar>>(_ scalars: S) -> String {
  var view = String.UnicodeScalarView()
  view.append(contentsOf: scalars)
  return String(view)
}
