// A port of `ftfy.fix_text` (ftfy 6.3.1, `ftfy/__init__.py` and `ftfy/fixes.py`) with its default
// configuration, as Hugging Face's slow CLIPTokenizer calls it, minus mojibake repair.

/// ftfy's text cleaning, as CLIP's slow tokenizer applies it before byte-pair encoding.
///
/// ftfy fixes each line (a segment ending in "\n", cut after ``maxSegmentLength`` scalars) on
/// its own, and repeats its fixes on a line until the line stops changing. One pass is, in ftfy's
/// order: HTML entity unescaping, C1 controls read as Windows-1252, Latin ligatures split,
/// full- and half-width forms folded, curly quotes straightened, line breaks unified, ANSI
/// terminal escapes and invisible control characters removed, NFC normalization.
///
/// HTML unescaping follows ftfy's "auto" rule: it is on until the first line that contains "<"
/// and off from that line to the end of the text (ftfy turns it off for the rest of the call).
///
/// Not ported: `fix_encoding`, the mojibake repair that re-decodes a line ftfy's badness
/// heuristic flags (such as "CafÃ©" for "Café"); such a line keeps its mojibake here. Where the
/// repair would only read C1 controls as Windows-1252, `fix_c1_controls` does the same here.
/// `fix_surrogates` has nothing to do on a Swift `String`, which cannot hold unpaired surrogates.
enum TextFixer {
  /// ftfy's `max_decode_length`: the longest segment it fixes at once.
  private static let maxSegmentLength = 1_000_000

  /// `ftfy.fix_text(text)`, for text ftfy's `fix_encoding` leaves alone.
  static func fixText(_ text: [Unicode.Scalar]) -> [Unicode.Scalar] {
    var output: [Unicode.Scalar] = []
    output.reserveCapacity(text.count)
    var unescapesHTML = true
    var start = 0
    while start < text.count {
      var end = start
      while end < text.count && end - start < maxSegmentLength {
        end += 1
        if text[end - 1] == "\n" { break }
      }
      let segment = text[start..<end]
      if unescapesHTML && segment.contains("<") { unescapesHTML = false }
      output += fixSegment(segment, unescapingHTML: unescapesHTML)
      start = end
    }
    return output
  }

  /// ftfy's `fix_and_explain` loop on one segment.
  private static func fixSegment(_ segment: ArraySlice<Unicode.Scalar>, unescapingHTML: Bool)
    -> [Unicode.Scalar]
  {
    if segment.allSatisfy({ isUnaffected($0, unescapingHTML: unescapingHTML) }) {
      return Array(segment)
    }
    var text = Array(segment)
    while true {
      var fixed = unescapingHTML ? unescapeHTML(text) : text
      fixed = mapCharacters(fixed)
      fixed = removeTerminalEscapes(fixed)
      fixed.removeAll(where: isRemovedControl)
      fixed = canonicalComposition(fixed)
      if fixed == text { return fixed }
      text = fixed
    }
  }

  /// Printable ASCII, tab, line feed and form feed pass every step unchanged ("&" only when
  /// entities are not unescaped), which lets plain text skip the passes.
  private static func isUnaffected(_ scalar: Unicode.Scalar, unescapingHTML: Bool) -> Bool {
    switch scalar.value {
    case 0x26: !unescapingHTML
    case 0x20...0x7E, 0x09, 0x0A, 0x0C: true
    default: false
    }
  }

  // MARK: unescape_html

  /// The longest entity name ftfy's `HTML_ENTITY_RE` (`&#?[0-9A-Za-z]{1,24};`) accepts.
  private static let maxEntityNameLength = 24

  /// ftfy's `unescape_html`: named entities from its table (HTML5 names ending in ";", plus
  /// upper-cased Latin ones), numeric references decoded as Python's `html.unescape` does.
  private static func unescapeHTML(_ text: [Unicode.Scalar]) -> [Unicode.Scalar] {
    guard text.contains("&") else { return text }
    var output: [Unicode.Scalar] = []
    output.reserveCapacity(text.count)
    var index = 0
    while index < text.count {
      guard text[index] == "&", let end = entityEnd(text, ampersand: index) else {
        output.append(text[index])
        index += 1
        continue
      }
      let body = text[(index + 1)..<end]
      if let replacement = body.first == "#"
        ? numericReference(body.dropFirst()) : namedEntities[String(String.UnicodeScalarView(body))]
      {
        output += replacement
      } else {
        output += text[index...end]
      }
      index = end + 1
    }
    return output
  }

  /// Index of the ";" that closes an entity starting at `ampersand`, if one matches there.
  private static func entityEnd(_ text: [Unicode.Scalar], ampersand: Int) -> Int? {
    var nameStart = ampersand + 1
    if nameStart < text.count && text[nameStart] == "#" { nameStart += 1 }
    var end = nameStart
    while end < text.count && end - nameStart <= maxEntityNameLength
      && isASCIIAlphanumeric(text[end])
    {
      end += 1
    }
    let length = end - nameStart
    guard (1...maxEntityNameLength).contains(length), end < text.count, text[end] == ";" else {
      return nil
    }
    return end
  }

  /// A numeric reference's replacement (`digits` without "&#" and ";"), or nil when Python's
  /// `html.unescape` would not consume all of it (ftfy then keeps the reference as written).
  private static func numericReference(_ digits: ArraySlice<Unicode.Scalar>) -> [Unicode.Scalar]? {
    var number = digits
    var radix: UInt32 = 10
    if let first = number.first, first == "x" || first == "X" {
      radix = 16
      number = number.dropFirst()
    }
    guard !number.isEmpty else { return nil }
    // Anything above the last code point decodes to U+FFFD, so the value saturates there.
    let saturated = UInt32(0x11_0000)
    var value: UInt32 = 0
    for scalar in number {
      guard let digit = hexDigitValue(scalar), digit < radix else { return nil }
      value = min(value * radix + digit, saturated)
    }
    if let replacement = numericReferenceReplacements[value] { return replacement }
    if (0xD800...0xDFFF).contains(value) || value >= saturated { return ["\u{FFFD}"] }
    if numericReferencesDropped.contains(where: { $0.contains(value) }) { return [] }
    return Unicode.Scalar(value).map { [$0] }
  }

  private static func hexDigitValue(_ scalar: Unicode.Scalar) -> UInt32? {
    switch scalar.value {
    case 0x30...0x39: scalar.value - 0x30
    case 0x41...0x46: scalar.value - 0x41 + 10
    case 0x61...0x66: scalar.value - 0x61 + 10
    default: nil
    }
  }

  private static func isASCIILetter(_ scalar: Unicode.Scalar) -> Bool {
    switch scalar.value {
    case 0x41...0x5A, 0x61...0x7A: true
    default: false
    }
  }

  private static func isASCIIAlphanumeric(_ scalar: Unicode.Scalar) -> Bool {
    (0x30...0x39).contains(scalar.value) || isASCIILetter(scalar)
  }

  // MARK: fix_c1_controls, fix_latin_ligatures, fix_character_width, uncurl_quotes, fix_line_breaks

  /// The four per-character translations, composed in ftfy's order, then line breaks (where
  /// "\r\n" is one break). No translation produces "\r" or "\n", so composing them is exact.
  private static func mapCharacters(_ text: [Unicode.Scalar]) -> [Unicode.Scalar] {
    var output: [Unicode.Scalar] = []
    output.reserveCapacity(text.count)
    var index = 0
    while index < text.count {
      let scalar = text[index]
      index += 1
      if scalar == "\r" {
        output.append("\n")
        if index < text.count && text[index] == "\n" { index += 1 }
        continue
      }
      guard scalar.value >= 0x80, let mapped = characterMap[scalar.value] else {
        output.append(isLineBreak(scalar) ? "\n" : scalar)
        continue
      }
      for part in mapped { output.append(isLineBreak(part) ? "\n" : part) }
    }
    return output
  }

  /// `fix_line_breaks`' other separators: NEXT LINE, LINE SEPARATOR, PARAGRAPH SEPARATOR.
  private static func isLineBreak(_ scalar: Unicode.Scalar) -> Bool {
    scalar.value == 0x85 || scalar.value == 0x2028 || scalar.value == 0x2029
  }

  private static let characterMap: [UInt32: [Unicode.Scalar]] = {
    let straightQuotes =
      parseKeys(TextFixerTables.singleQuotes).map { ($0, [Unicode.Scalar("'")]) }
      + parseKeys(TextFixerTables.doubleQuotes).map { ($0, [Unicode.Scalar("\"")]) }
    let steps = [
      parseMap(TextFixerTables.c1Controls), parseMap(TextFixerTables.ligatures),
      parseMap(TextFixerTables.widths), Dictionary(uniqueKeysWithValues: straightQuotes),
    ]
    var composed: [UInt32: [Unicode.Scalar]] = [:]
    for key in Set(steps.flatMap(\.keys)) {
      var scalars = [Unicode.Scalar(key)!]
      for step in steps { scalars = scalars.flatMap { step[$0.value] ?? [$0] } }
      composed[key] = scalars
    }
    return composed
  }()

  // MARK: remove_terminal_escapes, remove_control_chars

  /// ftfy's `ANSI_RE`, `\033\[((?:\d|;)*)([a-zA-Z])`, removed wherever it matches.
  private static func removeTerminalEscapes(_ text: [Unicode.Scalar]) -> [Unicode.Scalar] {
    let escape: Unicode.Scalar = "\u{1B}"
    guard text.contains(escape) else { return text }
    var output: [Unicode.Scalar] = []
    var index = 0
    while index < text.count {
      if text[index] == escape, index + 1 < text.count, text[index + 1] == "[" {
        var end = index + 2
        while end < text.count && (text[end] == ";" || PythonUnicode.isDecimalDigit(text[end])) {
          end += 1
        }
        if end < text.count, isASCIILetter(text[end]) {
          index = end + 1
          continue
        }
      }
      output.append(text[index])
      index += 1
    }
    return output
  }

  private static func isRemovedControl(_ scalar: Unicode.Scalar) -> Bool {
    controlCharacters.contains { $0.contains(scalar.value) }
  }

  // MARK: normalization

  /// No scalar below this one changes under NFC or composes with a preceding one.
  private static let firstComposingScalar: UInt32 = 0x300

  /// `unicodedata.normalize("NFC", text)` with Python 3.11's Unicode 14.0 data.
  ///
  /// The standard library knows Unicode 16.0. To Python, a scalar assigned after 14.0 is a
  /// starter that composes with nothing, so nothing reorders or composes across it: normalizing
  /// the runs between such scalars on their own gives Python's result (normalization data of
  /// already assigned scalars never changes).
  private static func canonicalComposition(_ text: [Unicode.Scalar]) -> [Unicode.Scalar] {
    guard text.contains(where: { $0.value >= firstComposingScalar }) else { return text }
    var output: [Unicode.Scalar] = []
    output.reserveCapacity(text.count)
    var runStart = 0
    for (index, scalar) in text.enumerated()
    where scalar.value >= firstComposingScalar && !PythonUnicode.isKnownToPython(scalar) {
      output += standardLibraryNFC(text[runStart..<index])
      output.append(scalar)
      runStart = index + 1
    }
    output += standardLibraryNFC(text[runStart...])
    return output
  }

  private static func standardLibraryNFC(_ text: ArraySlice<Unicode.Scalar>) -> [Unicode.Scalar] {
    guard text.contains(where: { $0.value >= firstComposingScalar }) else { return Array(text) }
    var string = ""
    string.unicodeScalars.append(contentsOf: text)
    // The standard library's own NFC (the one String comparison uses): public, and several
    // times faster on Linux than Foundation's `precomposedStringWithCanonicalMapping`.
    return Array(String(decoding: string._nfcCodeUnits, as: UTF8.self).unicodeScalars)
  }

  // MARK: tables

  private static let namedEntities: [String: [Unicode.Scalar]] = {
    var entities: [String: [Unicode.Scalar]] = [:]
    for row in TextFixerTables.htmlEntities.split(separator: "\n") {
      let fields = row.split(separator: " ")
      entities[String(fields[0])] = fields.dropFirst().map(scalar)
    }
    return entities
  }()
  private static let numericReferenceReplacements = parseMap(
    TextFixerTables.numericReferenceReplacements)
  private static let numericReferencesDropped = parseRanges(
    TextFixerTables.numericReferencesDropped)
  private static let controlCharacters = parseRanges(TextFixerTables.controlCharacters)

  private static func scalar(_ hex: Substring) -> Unicode.Scalar {
    Unicode.Scalar(UInt32(hex, radix: 16)!)!
  }

  private static func parseMap(_ table: String) -> [UInt32: [Unicode.Scalar]] {
    var map: [UInt32: [Unicode.Scalar]] = [:]
    for row in table.split(separator: "\n") {
      let fields = row.split(separator: " ")
      map[scalar(fields[0]).value] = fields.dropFirst().map(scalar)
    }
    return map
  }

  private static func parseKeys(_ table: String) -> [UInt32] {
    table.split(separator: "\n").map { scalar($0).value }
  }

  private static func parseRanges(_ table: String) -> [ClosedRange<UInt32>] {
    table.split(separator: "\n").map { row in
      let fields = row.split(separator: " ")
      return scalar(fields[0]).value...scalar(fields[1]).value
    }
  }
}
