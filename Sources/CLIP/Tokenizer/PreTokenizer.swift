/// CLIP's word splitter: the slow tokenizer's pattern
/// `<\|startoftext\|>|<\|endoftext\|>|'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+`,
/// compiled case-insensitively with the `regex` module and applied with `findall`, as a scanner.
///
/// At each position the alternatives are tried in order; a scalar that starts none of them
/// (whitespace, or the one scalar the case-insensitive classes both reject) is skipped. Because
/// whitespace only separates words, the reference's whitespace collapse and strip before this
/// step change no word and are not repeated here.
///
/// Letters and numbers are general categories L* and N* from the Swift standard library (Unicode
/// 16.0). The reference's `regex` 2026.11.19 knows newer Unicode: 12,823 scalars unassigned in
/// 16.0 (most of them ideographs in U+3D000...U+3FC3F and U+18E00...U+19191) are letters or
/// numbers there and punctuation-like here.
package enum PreTokenizer {
  package enum ScalarClass {
    case letter, number, whitespace, other
    /// Matches no alternative: skipped like whitespace, but does not join an `other` run.
    case unmatched
  }

  /// U+0345 COMBINING GREEK YPOGEGRAMMENI is a mark, but case-folds to the letter iota, so the
  /// case-insensitive `[^\s\p{L}\p{N}]` rejects it while `[\p{L}]` does not take it either.
  static let unmatchedScalar: Unicode.Scalar = "\u{0345}"

  package static func classify(_ scalar: Unicode.Scalar) -> ScalarClass {
    if scalar.isASCII { return asciiClasses[Int(scalar.value)] }
    if scalar == unmatchedScalar { return .unmatched }
    switch scalar.properties.generalCategory {
    case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter:
      return .letter
    case .decimalNumber, .letterNumber, .otherNumber:
      return .number
    default:
      return scalar.properties.isWhitespace ? .whitespace : .other
    }
  }

  private static let asciiClasses: [ScalarClass] = (0..<0x80).map { value in
    let scalar = Unicode.Scalar(UInt8(value))
    if scalar.properties.isWhitespace { return .whitespace }
    switch value {
    case 0x41...0x5A, 0x61...0x7A: return .letter
    case 0x30...0x39: return .number
    default: return .other
    }
  }

  /// The pattern's first alternatives, matched case-insensitively.
  private static let specialLiterals: [[UInt32]] = [
    CLIPTokenizer.startOfTextToken, CLIPTokenizer.endOfTextToken,
  ].map { $0.unicodeScalars.map(\.value) }
  /// The contraction suffixes after "'", in the pattern's order.
  private static let contractions: [[UInt32]] = ["s", "t", "re", "ve", "m", "ll", "d"].map {
    $0.unicodeScalars.map(\.value)
  }

  /// Calls `word` with the range of every word of `text`, in order.
  static func forEachWord(in text: [Unicode.Scalar], _ word: (Range<Int>) -> Void) {
    var index = 0
    while index < text.count {
      let scalar = text[index]
      if scalar == "<", let literal = specialLiterals.first(where: { matches($0, text, at: index) })
      {
        word(index..<(index + literal.count))
        index += literal.count
        continue
      }
      if scalar == "'",
        let suffix = contractions.first(where: { matches($0, text, at: index + 1) })
      {
        word(index..<(index + 1 + suffix.count))
        index += 1 + suffix.count
        continue
      }
      let kind = classify(scalar)
      switch kind {
      case .number:
        word(index..<(index + 1))
        index += 1
      case .letter, .other:
        var end = index + 1
        while end < text.count && classify(text[end]) == kind { end += 1 }
        word(index..<end)
        index = end
      case .whitespace, .unmatched:
        index += 1
      }
    }
  }

  /// Whether `literal` (lower-case ASCII) starts at `start`, compared as the case-insensitive
  /// reference does: ASCII case aside, "ſ" (U+017F) matches "s" and "K" (U+212A) matches "k".
  private static func matches(_ literal: [UInt32], _ text: [Unicode.Scalar], at start: Int) -> Bool
  {
    guard start + literal.count <= text.count else { return false }
    for (offset, expected) in literal.enumerated()
    where caseFolded(text[start + offset]) != expected {
      return false
    }
    return true
  }

  private static func caseFolded(_ scalar: Unicode.Scalar) -> UInt32 {
    switch scalar.value {
    case 0x41...0x5A: scalar.value + 0x20
    case 0x17F: 0x73
    case 0x212A: 0x6B
    default: scalar.value
    }
  }
}
