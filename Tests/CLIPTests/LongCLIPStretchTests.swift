import CLIP
import Core
import Foundation
import Testing

// Knowledge-preserved stretching (spec A3) and the checks of spec A8.1, which hold exactly in
// float32: multiplying by 4 and dividing by 4 are exact, and 2a + 2b rounds like a + b.

/// A table whose rows differ in every column, with values of both signs.
private func table(rows: Int, width: Int) -> Tensor {
  Tensor(shape: [rows, width], scalars: (0..<(rows * width)).map { Float(sin(Double($0) * 0.37)) * 1.7 })
}

@Test func stretchMeetsSpecA81OnCLIPsContext() throws {
  let p = table(rows: LongCLIP.clipContextLength, width: 5)
  let q = try PositionStretch.longCLIP(p)
  #expect(q.shape == [248, 5])  // spec A8.1: 4 * 77 - 3 * 20
  for row in 0..<20 { #expect(q[row] == p[row], "row \(row) is kept") }
  for i in 0..<56 { #expect(q[20 + 4 * i] == p[20 + i], "row \(20 + 4 * i) starts a group") }
  for c in 0..<5 {
    #expect(q[22].scalars[c] == (p[20].scalars[c] + p[21].scalars[c]) / 2)
    #expect(q[247].scalars[c] == p[76].scalars[c] + 0.75 * (p[76].scalars[c] - p[75].scalars[c]))
  }
  #expect(q[244] == p[76])
}

@Test func stretchLengthFollowsKeptRowsAndRatio() throws {
  #expect(PositionStretch().stretchedLength(of: 77) == 248)
  let custom = PositionStretch(keptRows: 3, ratio: 2)
  let p = table(rows: 10, width: 2)
  let q = try custom(p)
  #expect(q.shape == [3 + 2 * 7, 2])
  for row in 0..<3 { #expect(q[row] == p[row]) }
  #expect(q[3] == p[3])
  for c in 0..<2 {
    #expect(q[4].scalars[c] == (p[3].scalars[c] + p[4].scalars[c]) / 2)
    #expect(q[16].scalars[c] == p[9].scalars[c] + (p[9].scalars[c] - p[8].scalars[c]) / 2)
  }
  #expect(q[15] == p[9])
  // Ratio 1 keeps the table as it is.
  #expect(try PositionStretch(keptRows: 0, ratio: 1)(p) == p)
}

@Test(arguments: EncoderFixtures.dualModels)
func stretchEqualsThePythonReferenceBitForBit(model: String) throws {
  let encoder = try CLIPTextEncoder.load(directory: EncoderFixtures.model(model))
  let stretched = try encoder.stretched()
  let expected = try LongTextFixtures.reference(model).tensor("stretch.position_embedding")
  #expect(stretched.positionEmbedding.shape == expected.shape)
  #expect(bitIdentical(stretched.positionEmbedding, expected), "\(model): stretched table differs")
  #expect(stretched.config.maxPositionEmbeddings == expected.shape[0])
}

@Test func stretchRefusesTablesItCannotStretch() {
  #expect(throws: CLIPError.self) { try PositionStretch()(table(rows: 20, width: 3)) }
  #expect(throws: CLIPError.self) { try PositionStretch(keptRows: 0, ratio: 0)(table(rows: 5, width: 3)) }
  #expect(throws: CLIPError.self) { try PositionStretch(keptRows: 0)(table(rows: 1, width: 3)) }
  #expect(throws: CLIPError.self) { try PositionStretch()(Tensor(repeating: 0, shape: [77])) }
}

@Test func stretchedEncoderMatchesTransformersFromRawText() throws {
  // clip-tiny-a (77 positions) stretched to 248, on the short, ~150-token and 246-token texts.
  let model = "clip-tiny-a"
  let encoder = try CLIPTextEncoder.load(directory: EncoderFixtures.model(model)).stretched()
  let tokenizer = try LongTextFixtures.tokenizer()
  let reference = try LongTextFixtures.reference(model)
  let texts = try LongTextFixtures.texts().longClip
  let tokenized = try texts.map {
    try tokenizer.tokenize($0, contextLength: encoder.config.maxPositionEmbeddings)
  }
  #expect(tokenized.map(\.ids) == (try EncoderFixtures.rows(reference, "stretch.input_ids")))
  let output = try encoder.encode(texts: tokenized, keepHiddenStates: true, batchSize: 2)
  expectClose(try #require(output.lastHiddenState), try reference.tensor("stretch.last_hidden_state"), "stretch hidden")
  expectClose(output.pooled, try reference.tensor("stretch.pooler_output"), "stretch pooled")
  expectClose(try #require(output.embeds), try reference.tensor("stretch.text_embeds"), "stretch embeds")
}
