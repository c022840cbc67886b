import CLIP
import Core
import TestSupport
import Testing

// Where the text tower pools. transformers 4.57 (CLIPTextTransformer.forward): with the legacy
// eos_token_id 2 of old openai configs, argmax of the ids; otherwise the first position equal to
// eos_token_id, found by argmax over a 0/1 row, so 0 when there is none. torch.argmax returns the
// first maximal index. clip-tiny-a uses eos 49407, clip-tiny-b the legacy 2.

private let startOfText = 49406
private let endOfText = 49407

@Test func encoderPoolsAtTheFirstEndOfText() throws {
  let encoder = try CLIPTextEncoder.load(directory: EncoderFixtures.model("clip-tiny-a"))
  #expect(encoder.config.eosTokenId == endOfText)
  // End-of-text padding, as Hugging Face's CLIP tokenizer pads: the first one.
  #expect(encoder.poolingIndex(of: [startOfText, 320, 1125, endOfText, endOfText, endOfText]) == 3)
  // Zero padding, as Long-CLIP's tokenizer pads.
  #expect(encoder.poolingIndex(of: [startOfText, 320, endOfText, 0, 0]) == 2)
  // No end-of-text at all: position 0, not the largest id.
  #expect(encoder.poolingIndex(of: [320, 1125, 45000, 539]) == 0)
}

@Test func encoderWithLegacyEOSIdPoolsAtTheLargestId() throws {
  let encoder = try CLIPTextEncoder.load(directory: EncoderFixtures.model("clip-tiny-b"))
  #expect(encoder.config.eosTokenId == 2)
  #expect(encoder.poolingIndex(of: [startOfText, 320, 1125, endOfText, endOfText, endOfText]) == 3)
  #expect(encoder.poolingIndex(of: [startOfText, 320, endOfText, 0, 0]) == 2)
  // Id 2 is an ordinary token here; the first of two equal maxima wins.
  #expect(encoder.poolingIndex(of: [320, 2, 45000, 539, 45000]) == 2)
}

@Test(arguments: EncoderFixtures.dualModels)
func encoderPooledRowIsTheHiddenStateAtThePoolingIndex(model: String) throws {
  let encoder = try CLIPTextEncoder.load(directory: EncoderFixtures.model(model))
  let reference = try EncoderFixtures.reference(model)
  let ids = try EncoderFixtures.rows(reference, "text.input_ids")
  let output = try encoder.encode(tokenIDs: ids)
  for (b, row) in ids.enumerated() {
    let index = encoder.poolingIndex(of: row)
    #expect(output.lastHiddenState[b][index] == output.pooled[b], "sequence \(b)")
  }
}

@Test func encoderPositionsUpToTheEndOfTextIgnoreThePadding() throws {
  // The causal mask: nothing after a position changes it, whatever the padding id.
  let encoder = try CLIPTextEncoder.load(directory: EncoderFixtures.model("clip-tiny-a"))
  let content = [startOfText, 320, 1125, 539, 320, 2368, endOfText]
  let length = encoder.config.maxPositionEmbeddings
  let padded = [
    content + Array(repeating: endOfText, count: length - content.count),
    content + Array(repeating: 0, count: length - content.count),
  ]
  let output = try encoder.encode(tokenIDs: padded)
  let kept = content.count * encoder.config.hiddenSize
  let first = output.lastHiddenState[0].scalars.prefix(kept)
  let second = output.lastHiddenState[1].scalars.prefix(kept)
  let difference = zip(first, second).map { abs($0 - $1) }.max() ?? 0
  #expect(difference <= 1e-6, "max abs diff \(difference) before the end-of-text")
  let embeds = try #require(output.embeds)
  #expect(maxAbsDifference(embeds[0], embeds[1]) <= 1e-6)
  // After the end-of-text the padding is visible, so the rows differ.
  #expect(maxAbsDifference(output.lastHiddenState[0], output.lastHiddenState[1]) > 1e-3)
}
