import CLIP
import Testing

/// Every scalar against what the reference's `regex` pattern and Python's `str.lower()` do with it
/// (fixtures/reference/tokenizer/unicode.json).
@Suite struct TokenizerUnicodeTests {
  let reference: TokenizerFixtures.UnicodeReference

  init() throws {
    reference = try TokenizerFixtures.unicodeReference()
  }

  private static var allScalars: [Unicode.Scalar] {
    (0...UInt32(0x10FFFF)).compactMap(Unicode.Scalar.init)
  }

  /// The classes differ only on scalars the Swift standard library's Unicode does not assign yet
  /// (the reference's `regex` knows a newer Unicode); the doc comment of PreTokenizer says so.
  @Test func scalarClassesMatchTheReferenceRegex() throws {
    let expected: [String: PreTokenizer.ScalarClass] = [
      "letter": .letter, "number": .number, "whitespace": .whitespace, "unmatched": .unmatched,
    ]
    var referenceClass: [UInt32: PreTokenizer.ScalarClass] = [:]
    for (name, runs) in reference.classes {
      let kind = try #require(expected[name], "unknown class \(name)")
      for run in runs { for value in run[0]...run[1] { referenceClass[value] = kind } }
    }
    var newerUnicode = 0
    var mismatches: [String] = []
    for scalar in Self.allScalars {
      let wanted = referenceClass[scalar.value] ?? .other
      let got = PreTokenizer.classify(scalar)
      guard got != wanted else { continue }
      if scalar.properties.age == nil && got == .other {
        newerUnicode += 1
      } else {
        mismatches.append(
          "U+\(String(scalar.value, radix: 16, uppercase: true)): \(got), expected \(wanted)")
      }
    }
    // 12,823 scalars with regex 2026.11.19 and Swift 6.3, all letters or numbers to the reference.
    #expect(
      mismatches.isEmpty,
      "\(mismatches.count) scalars (besides \(newerUnicode) newer ones): \(mismatches.prefix(20))")
  }

  @Test func lowercasingMatchesPythonForEveryScalar() {
    var expected: [UInt32: [UInt32]] = [:]
    for entry in reference.lowercase { expected[entry.scalar] = entry.lowercase }
    var mismatches: [String] = []
    for scalar in Self.allScalars {
      let got = PythonUnicode.lowercased([scalar]).map(\.value)
      let wanted = expected[scalar.value] ?? [scalar.value]
      if got != wanted {
        mismatches.append(
          "U+\(String(scalar.value, radix: 16, uppercase: true)): \(got), expected \(wanted)")
      }
    }
    #expect(mismatches.isEmpty, "\(mismatches.count) scalars: \(mismatches.prefix(20))")
  }

  /// Python lowercases a capital sigma that ends a word to final sigma ("ς"), other ones to "σ".
  @Test func capitalSigmaFollowsTheFinalSigmaRule() {
    let lowered = PythonUnicode.lowercased(
      Array("ΟΔΟΣ ΣΑΣ Σ Α\u{0301}Σ\u{0301} ΑΣ'".unicodeScalars))
    // Scalars, not Strings: String equality would accept any canonically equivalent result.
    #expect(lowered == Array("οδος σας σ α\u{0301}ς\u{0301} ας'".unicodeScalars))
  }
}
