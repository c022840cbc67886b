import CLIP
import Core
import TestSupport
import Testing

// The tokenizer at Long-CLIP's 248 positions (spec A8.3), and what padding may and may not change
// in a causal text tower (spec A8.4, A8.5), on the converted tiny Long-CLIP.

private let context = 248

@Test func tokenizerFillsTheLongContext() throws {
  let tokenizer = try LongTextFixtures.tokenizer()
  let texts = try LongTextFixtures.texts()
  let long = try #require(texts.longClipTooLong.first)
  // 300 content tokens: an error naming the count by default.
  #expect(throws: TokenizerError.textTooLong(tokenCount: 302, contextLength: context)) {
    try tokenizer.tokenize(long, contextLength: context)
  }
  let truncated = try tokenizer.tokenize(long, contextLength: context, truncation: .truncate)
  #expect(truncated.ids.count == context)
  #expect(truncated.ids.first == tokenizer.startOfTextID && truncated.ids.last == tokenizer.endOfTextID)
  #expect(truncated.droppedCount == 300 - 246)
  // The 246-token text fits exactly, with no padding left.
  let full = try tokenizer.tokenize(texts.longClip[2], contextLength: context)
  #expect(full.contentCount == 246 && full.ids.count == context)
  // Padding: 0 in Long-CLIP's reference mode, end-of-text in transformers' mode.
  let short = texts.longClip[0]
  let zero = try tokenizer.tokenize(short, contextLength: context, padding: .zero)
  let eot = try tokenizer.tokenize(short, contextLength: context, padding: .endOfText)
  let end = zero.contentCount + 2
  #expect(zero.ids[..<end] == eot.ids[..<end])
  #expect(zero.ids[end...].allSatisfy { $0 == 0 })
  #expect(eot.ids[(end - 1)...].allSatisfy { $0 == tokenizer.endOfTextID })
}

@Test func paddingChangesNothingUpToEndOfText() throws {
  // Spec A8.4: the rows up to end-of-text and the pooled vector under pad 0, pad end-of-text and
  // no padding. A8.5: with end-of-text padding the first end-of-text is pooled.
  let encoder = try CLIPTextEncoder.load(directory: Repository.fixture("models/longclip-tiny"))
  let tokenizer = try LongTextFixtures.tokenizer()
  for text in try LongTextFixtures.texts().longClip.prefix(2) {
    let runs = try [CLIPTokenizer.Padding.zero, .endOfText, .none].map {
      try tokenizer.tokenize(text, contextLength: context, padding: $0)
    }
    let outputs = try runs.map { try encoder.encode(tokenIDs: [$0.ids]) }
    let used = runs[0].contentCount + 2
    let width = encoder.config.hiddenSize
    #expect(encoder.poolingIndex(of: runs[1].ids) == used - 1)
    let unpadded = outputs[2]
    // Equal up to BLAS blocking, which may differ between sequence lengths.
    for (output, name) in zip(outputs.prefix(2), ["pad 0", "pad end-of-text"]) {
      let rows = Tensor(shape: [used, width], scalars: Array(output.lastHiddenState.scalars[0..<(used * width)]))
      expectClose(rows, unpadded.lastHiddenState.reshaped([used, width]), "\(name) rows", tolerance: 1e-5)
      expectClose(output.pooled, unpadded.pooled, "\(name) pooled", tolerance: 1e-5)
      expectClose(try #require(output.embeds), try #require(unpadded.embeds), "\(name) embeds", tolerance: 1e-5)
    }
    // After end-of-text the rows do depend on the pad id.
    #expect(maxAbsDifference(outputs[0].lastHiddenState, outputs[1].lastHiddenState) > 1e-3)
  }
}
