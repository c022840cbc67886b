/// What Python 3.11's `str.lower()` and `re`'s `\d` do with a scalar, from the Swift standard
/// library's Unicode properties.
///
/// Python 3.11 carries Unicode 14.0 data and the Swift 6.3 standard library Unicode 16.0. Python
/// treats scalars assigned after 14.0 as unassigned: no case mapping, neither cased nor
/// case-ignorable, not digits. ``isKnownToPython(_:)`` applies that, so the two agree on every
/// scalar (tested against `str.lower()` for all of them).
package enum PythonUnicode {
  /// The Unicode version of Python 3.11's `unicodedata`, which the reference tokenizer runs on.
  static let unicodeVersion = (major: 14, minor: 0)

  static func isKnownToPython(_ scalar: Unicode.Scalar) -> Bool {
    guard let age = scalar.properties.age else { return false }
    return (age.major, age.minor) <= unicodeVersion
  }

  /// `\d` in a Python `re` pattern on `str`: general category Nd.
  static func isDecimalDigit(_ scalar: Unicode.Scalar) -> Bool {
    if scalar.isASCII { return (0x30...0x39).contains(scalar.value) }
    return scalar.properties.generalCategory == .decimalNumber && isKnownToPython(scalar)
  }

  private static let capitalSigma: Unicode.Scalar = "\u{03A3}"
  private static let smallSigma: Unicode.Scalar = "\u{03C3}"
  private static let finalSmallSigma: Unicode.Scalar = "\u{03C2}"

  /// `str.lower()`: full lowercase mappings (so "İ" becomes "i" + U+0307), and capital sigma as
  /// final sigma where it ends a word.
  package static func lowercased(_ text: [Unicode.Scalar]) -> [Unicode.Scalar] {
    var output: [Unicode.Scalar] = []
    output.reserveCapacity(text.count)
    for (index, scalar) in text.enumerated() {
      if scalar.isASCII {
        let value = scalar.value
        output.append((0x41...0x5A).contains(value) ? Unicode.Scalar(value + 0x20)! : scalar)
      } else if scalar == capitalSigma {
        output.append(isFinalSigma(text, at: index) ? finalSmallSigma : smallSigma)
      } else if isKnownToPython(scalar) && scalar.properties.changesWhenLowercased {
        output += scalar.properties.lowercaseMapping.unicodeScalars
      } else {
        output.append(scalar)
      }
    }
    return output
  }

  /// CPython's `handle_capital_sigma`: the Final_Sigma condition of Unicode's SpecialCasing, a
  /// cased letter before (skipping case-ignorable scalars) and none after.
  private static func isFinalSigma(_ text: [Unicode.Scalar], at index: Int) -> Bool {
    let before = text[..<index].last { !isCaseIgnorable($0) }
    guard let before, isCased(before) else { return false }
    let after = text[(index + 1)...].first { !isCaseIgnorable($0) }
    return after.map { !isCased($0) } ?? true
  }

  private static func isCased(_ scalar: Unicode.Scalar) -> Bool {
    scalar.properties.isCased && isKnownToPython(scalar)
  }

  private static func isCaseIgnorable(_ scalar: Unicode.Scalar) -> Bool {
    scalar.properties.isCaseIgnorable && isKnownToPython(scalar)
  }
}
