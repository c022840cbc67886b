import CLIP
import Testing

// LongAlign's splitters: the published one (spec B2, golden table) and the opt-in clean one.

@Test(arguments: [
  ("A cat. A dog? Wow! Yes; no.", ["A cat.", " A dog.", " Wow! Yes; no."]),
  ("Pi is 3.14. Next.", ["Pi is 3.", "14.", " Next."]),
  ("Trailing. ", ["Trailing.", " ."]),
  ("Wait...", ["Wait."]),
  ("No punctuation", ["No punctuation."]),
  ("", [""]),
  // The two-character alternatives of the pattern, and what it leaves alone.
  ("Say \"!hi\" ok;\" then! done", ["Say .", "hi\" ok.", " then! done."]),
  ("东京。大阪？", ["东京。大阪？."]),
  ("   ", ["   ."]),
  ("?", ["?"]),
])
func faithfulSplitterMatchesThePublishedCode(text: String, segments: [String]) {
  #expect(FaithfulSplitter.split(text) == segments)
}

@Test(arguments: [
  ("A cat. A dog? Wow! Yes; no.", ["A cat.", "A dog?", "Wow!", "Yes;", "no."]),
  ("Pi is 3.14. Next.", ["Pi is 3.14.", "Next."]),
  ("Dr. Smith met Mr. J. Jones, e.g. at 5 p.m. in the U.S. office. Then left.",
   ["Dr. Smith met Mr. J. Jones, e.g. at 5 p.m. in the U.S. office.", "Then left."]),
  ("See example.com or v1.2.3 now. Ok", ["See example.com or v1.2.3 now.", "Ok"]),
  ("Wait... what?! \"Yes.\" (Really.) End", ["Wait...", "what?!", "\"Yes.\"", "(Really.)", "End"]),
  ("这是一只猫。它很可爱！真的吗？是的；好", ["这是一只猫。", "它很可爱！", "真的吗？", "是的；", "好"]),
  ("  Trailing.   ", ["Trailing."]),
  ("", []),
])
func cleanSplitterFindsSentences(text: String, sentences: [String]) {
  #expect(CleanSegmenter.sentences(text) == sentences)
}

@Test func cleanSegmenterPacksSentencesUpToTheWindow() throws {
  let tokenizer = try LongTextFixtures.tokenizer()
  let window = 12  // 10 content tokens
  let segmenter = CleanSegmenter(tokenizer: tokenizer, contextLength: window)
  // "a cat sat." is 4 tokens: two fit in 10, three do not.
  let segments = segmenter.segments("A cat sat. A dog ran.  A cow ate. A pig slept.")
  #expect(segments.map(\.text) == ["A cat sat. A dog ran.", "A cow ate. A pig slept."])
  for segment in segments {
    #expect(segment.ids == (try tokenizer.tokenize(segment.text, contextLength: window, padding: .none).ids))
    #expect(segment.droppedCount == 0)
  }
  #expect(segmenter.segments("").map(\.ids) == [[tokenizer.startOfTextID, tokenizer.endOfTextID]])
  #expect(segmenter.segments("  ").map(\.text) == [""])
}

@Test func cleanSegmenterSplitsLongSentencesWithoutLosingText() throws {
  let tokenizer = try LongTextFixtures.tokenizer()
  let window = 12
  let segmenter = CleanSegmenter(tokenizer: tokenizer, contextLength: window)
  let sentence = (0..<30).map { "word\($0)" }.joined(separator: " ") + "."
  let segments = segmenter.segments(sentence)
  #expect(segments.count > 1)
  #expect(segments.map(\.text).joined(separator: " ") == sentence)
  #expect(segments.allSatisfy { $0.ids.count <= window && $0.droppedCount == 0 })
  // Content tokens are only re-split at the cuts, never dropped.
  #expect(segments.reduce(0) { $0 + $1.ids.count - 2 } >= tokenizer.encode(sentence).count)

  // A "word" longer than the window: a run of CJK characters, cut after its longest prefixes.
  let run = String(repeating: "猫狗鸟鱼", count: 12)
  let pieces = segmenter.segments(run)
  #expect(pieces.map(\.text).joined() == run)
  #expect(pieces.allSatisfy { $0.ids.count <= window && $0.droppedCount == 0 })
  #expect(pieces.dropLast().allSatisfy { $0.ids.count >= window - 4 }, "each cut is as late as fits")
}
