import CLIP
import Core
import Foundation
import Testing

// LongAlign segment encoding (spec B3-B8) against the independent Python implementation of
// fixtures/longalign_reference.py (spec B9.8), and the properties of spec B9.2-B9.7.

private func longAlign(_ model: String, _ options: LongAlignOptions = .init()) throws -> LongAlignEncoder {
  try LongAlignEncoder(
    encoder: try CLIPTextEncoder.load(directory: EncoderFixtures.model(model)),
    tokenizer: try LongTextFixtures.tokenizer(), options: options)
}

private func segmentTexts(_ reference: SafeTensorsFile, _ group: String) throws -> [[String]] {
  let json = try #require(reference.metadata["\(group).segments"])
  return try JSONDecoder().decode([[String]].self, from: Data(json.utf8))
}

@Test(arguments: [("clip-tiny-a", "segments", 240), ("clip-tiny-b", "segments", 240), ("clip-tiny-a", "segments_few", 32)])
func segmentsMatchThePythonReference(model: String, group: String, rows: Int) throws {
  let encoder = try longAlign(model, LongAlignOptions(rows: rows, batchSize: 5))
  let reference = try LongTextFixtures.reference(model)
  let paragraphs = try LongTextFixtures.texts().paragraphs
  expectClose(encoder.padVector, try reference.tensor("\(group).pad_vector"), "\(model) pad vector")
  let outputs = try encoder.encode(paragraphs)
  #expect(outputs.map { $0.segments.map(\.text) } == (try segmentTexts(reference, group)))
  expectClose(Tensor.stack(outputs.map(\.hiddenStates)), try reference.tensor("\(group).last_hidden_state"), "\(model) \(group) rows")
  expectClose(Tensor.stack(try outputs.map { try #require($0.embeds) }), try reference.tensor("\(group).text_embeds"), "\(model) \(group) pooled")
  let owners = try EncoderFixtures.rows(reference, "\(group).segment_ids")
  #expect(outputs.map(\.segmentIDs) == owners)
}

@Test func eachSegmentKeepsStartOfTextAndItsContent() throws {
  // Spec B9.2: 1 + min(n, window - 2) rows per segment; always [R, W].
  let encoder = try longAlign("clip-tiny-b")
  let tokenizer = try LongTextFixtures.tokenizer()
  let capacity = CLIPTokenizer.contentCapacity(contextLength: encoder.contextLength)
  for output in try encoder.encode(try LongTextFixtures.texts().paragraphs) {
    #expect(output.hiddenStates.shape == [240, 12])
    var expectedRows = 0
    for segment in output.segments {
      let n = tokenizer.encode(segment.text).count
      #expect(segment.ids.count - 1 == 1 + min(n, capacity))
      #expect(segment.droppedCount == max(0, n - capacity))
      expectedRows += 1 + min(n, capacity)
    }
    #expect(output.rowCount == expectedRows)
    let counted = (0..<output.segments.count).map { s in output.segmentIDs.filter { $0 == s }.count }
    #expect(counted.reduce(0, +) == min(expectedRows, 240))
  }
}

@Test func keptRowsDoNotDependOnBatchPadding() throws {
  // Spec B9.3: a segment encoded alone equals the same segment in a batch padded with others.
  let paragraph = try LongTextFixtures.texts().paragraphs[7]
  let alone = try longAlign("clip-tiny-a", LongAlignOptions(batchSize: 1)).encode([paragraph])[0]
  let batched = try longAlign("clip-tiny-a", LongAlignOptions(batchSize: 32)).encode([paragraph])[0]
  // Only the BLAS blocking differs between the two runs.
  expectClose(alone.hiddenStates, batched.hiddenStates, "rows alone vs batched", tolerance: 1e-5)
  expectClose(try #require(alone.embeds), try #require(batched.embeds), "pooled alone vs batched", tolerance: 1e-5)
}

@Test func startOfTextRowsAreOneFixedSeparator() throws {
  // Spec B9.4: every kept start-of-text row equals row 0 of clip([<sot>]).
  let encoder = try longAlign("clip-tiny-a")
  let sot = try encoder.encoder.encode(tokenIDs: [[encoder.tokenizer.startOfTextID]]).lastHiddenState
  let width = encoder.encoder.config.hiddenSize
  for output in try encoder.encode(try LongTextFixtures.texts().paragraphs) {
    var previous = -1
    for (row, owner) in output.segmentIDs.enumerated() where owner != previous {
      previous = owner
      guard owner >= 0 else { break }
      expectClose(output.hiddenStates[row].reshaped([1, 1, width]), sot, "start-of-text row \(row)", tolerance: 1e-5)
    }
  }
}

@Test func emptyPromptIsStartOfTextThenPadVector() throws {
  // Spec B9.5 / B8: [sot row, p x 239]; p is the mean of rows 17..76 of the padded empty prompt.
  let encoder = try longAlign("clip-tiny-a")
  let empty = try encoder.tokenizer.tokenize("", contextLength: 77)
  let hidden = try encoder.encoder.encode(tokenIDs: [empty.ids]).lastHiddenState.reshaped([77, 32])
  var mean = [Float](repeating: 0, count: 32)
  for row in 17..<77 { for c in 0..<32 { mean[c] += hidden.scalars[row * 32 + c] / 60 } }
  expectClose(encoder.padVector, Tensor(shape: [32], scalars: mean), "pad vector", tolerance: 1e-6)
  let output = try encoder.encode([""])[0]
  #expect(output.segments.map(\.text) == [""])
  expectClose(output.hiddenStates[0], hidden[0], "start-of-text row", tolerance: 1e-5)
  #expect((1..<240).allSatisfy { output.hiddenStates[$0] == encoder.padVector })
  #expect(output.segmentIDs == [Int]([0]) + [Int](repeating: -1, count: 239))
}

@Test func longTextIsCutWithoutPadding() throws {
  // Spec B9.6: more than R rows keeps the first R, no pad appended.
  let paragraph = try LongTextFixtures.texts().paragraphs[8]
  let full = try longAlign("clip-tiny-a", LongAlignOptions(rows: 1000)).encode([paragraph])[0]
  let cut = try longAlign("clip-tiny-a").encode([paragraph])[0]
  #expect(full.rowCount > 240 && cut.rowCount == full.rowCount)
  #expect(bitIdentical(cut.hiddenStates, full.hiddenStates.rows(0..<240)))
  #expect(!cut.segmentIDs.contains(LongAlignEncoder.padRowSegment))
  #expect(bitIdentical(try #require(cut.embeds), try #require(full.embeds)), "the pooled vector covers every segment")
}

@Test func swappingSentencesSwapsTheirRowBlocks() throws {
  // Spec B9.7. The splitter keeps the space after a full stop, which tokenizes to nothing.
  let encoder = try longAlign("clip-tiny-a")
  let (x, y) = ("A red kite over the hills", "Two dogs chase a ball on the sand")
  let outputs = try encoder.encode(["\(x). \(y).", "\(y). \(x)."])
  let (a, b) = (outputs[0], outputs[1])
  let xRows = a.segmentIDs.filter { $0 == 0 }.count
  let yRows = a.segmentIDs.filter { $0 == 1 }.count
  #expect(b.segmentIDs.filter { $0 == 0 }.count == yRows && b.segmentIDs.filter { $0 == 1 }.count == xRows)
  expectClose(a.hiddenStates.rows(0..<xRows), b.hiddenStates.rows(yRows..<(yRows + xRows)), "first sentence block", tolerance: 1e-5)
  expectClose(a.hiddenStates.rows(xRows..<(xRows + yRows)), b.hiddenStates.rows(0..<yRows), "second sentence block", tolerance: 1e-5)
  expectClose(try #require(a.embeds), try #require(b.embeds), "pooled vector", tolerance: 1e-5)
}

@Test func cleanModeEncodesWholeSentencesWithinTheWindow() throws {
  let encoder = try longAlign("clip-tiny-b", LongAlignOptions(splitting: .clean))
  let paragraph = try LongTextFixtures.texts().paragraphs[7]  // holds a 90-token sentence
  let output = try encoder.encode([paragraph])[0]
  #expect(output.segments.allSatisfy { $0.droppedCount == 0 && $0.ids.count <= 40 })
  // Each segment's rows are the tower's rows for that segment alone.
  var row = 0
  for (index, segment) in output.segments.enumerated() where row < 240 {
    let alone = try encoder.encoder.encode(tokenIDs: [segment.ids]).lastHiddenState
    let kept = min(segment.ids.count - 1, 240 - row)
    let width = 12
    expectClose(
      output.hiddenStates.rows(row..<(row + kept)),
      Tensor(shape: [kept, width], scalars: Array(alone.scalars[0..<(kept * width)])),
      "clean segment \(index)", tolerance: 1e-5)
    row += kept
  }
}

@Test func segmentEncodingTimeIsLinearInSegments() throws {
  // Reports the time for 1k, 5k and 10k words (the closing-note numbers come from a
  // CLIP-L-sized tower; this tiny tower shows the scaling). The encoder calls are what grows:
  // their count must be the segment count over the batch size.
  let encoder = try longAlign("clip-tiny-a")
  let sentence = "A small boat drifts past the old harbour wall at dawn. "  // 11 words, one segment
  var times: [Int: Double] = [:]
  for words in [1_000, 5_000, 10_000] {
    let text = String(repeating: sentence, count: words / 11)
    let calls = Counter()
    let start = Date()
    let output = try encoder.encode([text], progress: { _ in calls.increment() })[0]
    times[words] = Date().timeIntervalSince(start)
    #expect(calls.value == (output.segments.count + 31) / 32)
    print("LongAlign segments mode, \(words) words, \(output.segments.count) segments: \(times[words]!) s")
  }
  // Generous bound: ten times the words may not cost more than twenty times the time.
  #expect(times[10_000]! < 20 * times[1_000]! + 0.5)
}

private final class Counter: @unchecked Sendable {
  private let lock = NSLock()
  private var count = 0
  var value: Int { lock.withLock { count } }
  func increment() { lock.withLock { count += 1 } }
}
