import CLIP
import Core
import TestSupport
import Testing

// Inputs that do not fit the model are typed errors, never crashes; the position table can be
// swapped for a longer one (Long-CLIP).

private func textEncoder() throws -> CLIPTextEncoder {
  try CLIPTextEncoder.load(directory: EncoderFixtures.model("clip-tiny-a"))
}

private func expectInvalidInput(_ fragment: String, _ body: () throws -> Void) {
  do {
    try body()
    Issue.record("expected an invalid-input error mentioning '\(fragment)'")
  } catch let error as CLIPError {
    guard case .invalidInput(let reason) = error else {
      Issue.record("expected invalidInput, got \(error)")
      return
    }
    #expect(reason.contains(fragment), "reason: \(reason)")
  } catch {
    Issue.record("expected CLIPError, got \(error)")
  }
}

@Test func encoderRejectsTokenBatchesThatDoNotFit() throws {
  let encoder = try textEncoder()
  let limit = encoder.config.maxPositionEmbeddings
  expectInvalidInput("takes 1 to \(limit)") {
    _ = try encoder.encode(tokenIDs: [Array(repeating: 320, count: limit + 1)])
  }
  expectInvalidInput("takes 1 to \(limit)") { _ = try encoder.encode(tokenIDs: [[]]) }
  expectInvalidInput("sequence 1 has 2 ids") {
    _ = try encoder.encode(tokenIDs: [[320, 321, 322], [320, 321]])
  }
  expectInvalidInput("id \(encoder.config.vocabSize), outside the vocabulary") {
    _ = try encoder.encode(tokenIDs: [[320, encoder.config.vocabSize]])
  }
  expectInvalidInput("id -1, outside the vocabulary") { _ = try encoder.encode(tokenIDs: [[-1]]) }
  expectInvalidInput("the attention mask must hold 1 rows of 2 flags") {
    _ = try encoder.encode(tokenIDs: [[320, 321]], attentionMask: [[true]])
  }
}

@Test func encoderRejectsPixelsOfTheWrongShape() throws {
  let encoder = try CLIPVisionEncoder.load(
    directory: EncoderFixtures.model(EncoderFixtures.visionOnlyModel))
  let (c, s) = (encoder.config.numChannels, encoder.config.imageSize)
  for shape in [[1, c, s, s + 1], [1, c + 1, s, s], [c, s, s], [2, 1, c, s, s]] {
    expectInvalidInput("pixel tensor \(shape)") {
      _ = try encoder.encode(pixels: Tensor(repeating: 0, shape: shape))
    }
  }
}

@Test func encoderReturnsEmptyOutputsForAnEmptyBatch() throws {
  let encoder = try textEncoder()
  let text = try encoder.encode(tokenIDs: [])
  #expect(text.pooled.shape == [0, encoder.config.hiddenSize])
  #expect(text.embeds?.shape == [0, encoder.config.projectionDim])
  let vision = try CLIPVisionEncoder.load(
    directory: EncoderFixtures.model(EncoderFixtures.visionOnlyModel))
  let config = vision.config
  let images = try vision.encode(
    pixels: Tensor(repeating: 0, shape: [0, config.numChannels, config.imageSize, config.imageSize]))
  #expect(images.lastHiddenState.shape == [0, config.positionCount, config.hiddenSize])
  #expect(images.embeds?.shape == [0, config.projectionDim])
}

@Test func encoderTakesAReplacementPositionTable() throws {
  let encoder = try textEncoder()
  let original = encoder.positionEmbedding
  let (rows, width) = (original.shape[0], original.shape[1])
  // The original rows first, then more: sequences within the old length encode as before.
  let extraRows = Tensor(
    shape: [2 * rows, width], scalars: (0..<(2 * rows * width)).map { Float($0 % 7) / 7 })
  let longer = try encoder.replacingPositionEmbedding(Tensor.concatenate([original, extraRows]))
  #expect(longer.config.maxPositionEmbeddings == 3 * rows)

  let reference = try EncoderFixtures.reference("clip-tiny-a")
  let ids = try EncoderFixtures.rows(reference, "text.input_ids")
  let before = try encoder.encode(tokenIDs: ids)
  let after = try longer.encode(tokenIDs: ids)
  #expect(after.lastHiddenState == before.lastHiddenState)

  let long = [[49406] + Array(repeating: 320, count: 2 * rows) + [49407]]
  #expect(try longer.encode(tokenIDs: long).lastHiddenState.shape == [1, 2 * rows + 2, width])
  expectInvalidInput("takes 1 to \(rows)") { _ = try encoder.encode(tokenIDs: long) }

  // The table is really used: changing a row the ids reach changes the output.
  var shifted = original
  shifted.scalars[0] += 1
  let moved = try encoder.replacingPositionEmbedding(shifted).encode(tokenIDs: ids)
  #expect(maxAbsDifference(moved.pooled, before.pooled) > 1e-3)

  expectInvalidInput("does not fit a text encoder of width \(width)") {
    _ = try encoder.replacingPositionEmbedding(Tensor(repeating: 0, shape: [rows, width + 1]))
  }
}
