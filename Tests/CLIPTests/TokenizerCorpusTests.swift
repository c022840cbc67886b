import CLIP
import Testing

/// Token ids against Hugging Face's slow CLIPTokenizer (transformers 4.57.6, ftfy 6.3.1) on the
/// corpus of fixtures/gen_tokenizer.py. Ids are exact: no tolerance.
@Suite struct TokenizerCorpusTests {
  let tokenizer: CLIPTokenizer
  let corpus: TokenizerFixtures.Corpus

  init() throws {
    tokenizer = try TokenizerFixtures.tokenizer()
    corpus = try TokenizerFixtures.corpus()
  }

  @Test func corpusIsLargeAndCoversEveryCategory() {
    #expect(corpus.cases.count >= 250)
    let categories = Set(corpus.cases.map(\.category))
    for category in [
      "empty", "punctuation", "digits", "contractions", "accents", "newer_unicode", "cjk",
      "scripts", "emoji", "html", "html_with_lt", "whitespace", "special_tokens", "mixed_case",
      "long_words", "control", "fullwidth", "ligatures", "long_paragraphs", "random",
    ] {
      #expect(categories.contains(category), "no \(category) strings in the corpus")
    }
    let longest = corpus.cases.map(\.ids.count).max() ?? 0
    #expect(corpus.contextLengths.allSatisfy { longest > $0 }, "no string overflows every context")
  }

  @Test func unpaddedIdsMatchTheReference() throws {
    var mismatches: [String] = []
    for item in corpus.cases {
      let ids = try tokenizer.tokenize(item.text, contextLength: item.ids.count, padding: .none).ids
      if ids != item.ids { mismatches.append(describe(item, got: ids, expected: item.ids)) }
      let framed = [tokenizer.startOfTextID] + tokenizer.encode(item.text) + [tokenizer.endOfTextID]
      if framed != ids { mismatches.append("[\(item.category)] encode differs from tokenize") }
    }
    #expect(
      mismatches.isEmpty,
      "\(mismatches.count) of \(corpus.cases.count) differ:\n\(mismatches.joined(separator: "\n"))")
  }

  @Test func truncatedAndEndOfTextPaddedIdsMatchTheReference() throws {
    var mismatches: [String] = []
    for item in corpus.cases {
      for contextLength in corpus.contextLengths {
        let expected = try #require(item.padded[String(contextLength)])
        let result = try tokenizer.tokenize(
          item.text, contextLength: contextLength, truncation: .truncate, padding: .endOfText)
        if result.ids != expected {
          mismatches.append(describe(item, got: result.ids, expected: expected))
        }
        let contentCount = item.ids.count - CLIPTokenizer.specialTokensPerText
        let capacity = CLIPTokenizer.contentCapacity(contextLength: contextLength)
        #expect(result.contentCount == min(contentCount, capacity))
        #expect(result.droppedCount == max(0, contentCount - capacity))
      }
    }
    #expect(
      mismatches.isEmpty, "\(mismatches.count) differ:\n\(mismatches.joined(separator: "\n"))")
  }

  @Test func zeroPaddedIdsMatchOpenAIsTokenize() throws {
    let references = corpus.cases.compactMap { item in item.zeroPadded.map { (item, $0) } }
    #expect(references.count >= 250)
    var mismatches: [String] = []
    for (item, byLength) in references {
      for (length, expected) in byLength {
        let contextLength = try #require(Int(length))
        let ids = try tokenizer.tokenize(
          item.text, contextLength: contextLength, truncation: .truncate, padding: .zero
        ).ids
        if ids != expected { mismatches.append(describe(item, got: ids, expected: expected)) }
      }
    }
    #expect(
      mismatches.isEmpty, "\(mismatches.count) differ:\n\(mismatches.joined(separator: "\n"))")
  }

  /// The documented gap: ftfy's `fix_encoding`, which re-decodes text it takes for mojibake.
  /// The reference's ids equal ours on the text ftfy produced, and differ from ours on the text
  /// as written.
  @Test func encodingRepairIsTheKnownDifference() throws {
    #expect(!corpus.encodingRepairs.isEmpty)
    for item in corpus.encodingRepairs {
      let repaired = try tokenizer.tokenize(
        item.ftfyFixed, contextLength: item.ids.count, padding: .none)
      #expect(repaired.ids == item.ids, "\(item.ftfyFixed.debugDescription)")
      let asWritten =
        [tokenizer.startOfTextID] + tokenizer.encode(item.text) + [tokenizer.endOfTextID]
      #expect(asWritten != item.ids, "\(item.text.debugDescription) now matches: update the docs")
    }
  }

  private func describe(_ item: TokenizerFixtures.Corpus.Case, got: [Int], expected: [Int])
    -> String
  {
    let index =
      zip(got, expected).enumerated().first { $1.0 != $1.1 }?.offset
      ?? min(got.count, expected.count)
    let window = max(0, index - 2)..<(index + 3)
    return "[\(item.category)] \(item.text.debugDescription): first difference at \(index), "
      + "got \(got[window.clamped(to: got.indices)]) "
      + "expected \(expected[window.clamped(to: expected.indices)])"
  }
}
