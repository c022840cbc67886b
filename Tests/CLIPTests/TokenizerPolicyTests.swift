import CLIP
import Foundation
import Testing

/// Context length, truncation and padding policies (spec longclip-longalign.md A2, A7, A8.3, B3).
@Suite struct TokenizerPolicyTests {
  let tokenizer: CLIPTokenizer
  let contextLengths: [Int]
  /// A text longer than every fixture context (the corpus's bench paragraphs, twice).
  let longText: String

  init() throws {
    tokenizer = try TokenizerFixtures.tokenizer()
    let corpus = try TokenizerFixtures.corpus()
    contextLengths = corpus.contextLengths
    longText = corpus.bench.text + " " + corpus.bench.text
  }

  @Test func specialTokenIdsComeFromTheVocabulary() throws {
    let vocabulary = try JSONDecoder().decode(
      [String: Int].self,
      from: Data(
        contentsOf: TokenizerFixtures.vocabularyDirectory.appendingPathComponent("vocab.json")))
    #expect(tokenizer.startOfTextID == vocabulary[CLIPTokenizer.startOfTextToken])
    #expect(tokenizer.endOfTextID == vocabulary[CLIPTokenizer.endOfTextToken])
    #expect(tokenizer.vocabularySize == vocabulary.count)
  }

  @Test func textIsFramedAndPaddedToTheContext() throws {
    let content = tokenizer.encode("a photo of a cat")
    #expect(content.count == 5)
    for contextLength in contextLengths {
      let eot = try tokenizer.tokenize("a photo of a cat", contextLength: contextLength)
      #expect(eot.ids.count == contextLength)
      #expect(Array(eot.ids.prefix(content.count + 1)) == [tokenizer.startOfTextID] + content)
      #expect(eot.ids.dropFirst(content.count + 1).allSatisfy { $0 == tokenizer.endOfTextID })
      #expect(eot.contentCount == content.count && eot.droppedCount == 0)

      let zero = try tokenizer.tokenize(
        "a photo of a cat", contextLength: contextLength, padding: .zero)
      #expect(zero.ids.count == contextLength)
      #expect(
        Array(zero.ids.prefix(content.count + 2)) == [tokenizer.startOfTextID] + content + [
          tokenizer.endOfTextID
        ])
      #expect(zero.ids.dropFirst(content.count + 2).allSatisfy { $0 == 0 })
    }
    let unpadded = try tokenizer.tokenize(
      "a photo of a cat", contextLength: contextLengths[0], padding: .none)
    #expect(unpadded.ids == [tokenizer.startOfTextID] + content + [tokenizer.endOfTextID])
  }

  @Test func emptyTextIsStartAndEndOfText() throws {
    for text in ["", "   ", "\n\t"] {
      let result = try tokenizer.tokenize(text, contextLength: contextLengths[0], padding: .none)
      #expect(result.ids == [tokenizer.startOfTextID, tokenizer.endOfTextID])
      #expect(result.contentCount == 0)
    }
  }

  @Test func longTextThrowsByDefaultAndTheMessageNamesTheCounts() throws {
    let tokenCount = tokenizer.encode(longText).count + CLIPTokenizer.specialTokensPerText
    for contextLength in contextLengths {
      #expect(tokenCount > contextLength)
      let error = #expect(throws: TokenizerError.self) {
        try tokenizer.tokenize(longText, contextLength: contextLength)
      }
      #expect(error == .textTooLong(tokenCount: tokenCount, contextLength: contextLength))
      let message = try #require(error?.localizedDescription)
      #expect(message.contains("\(tokenCount) tokens") && message.contains("\(contextLength)"))
      #expect(!message.contains("\n"))
    }
  }

  /// Truncation keeps the first content tokens and ends with end-of-text; a 300-token text at
  /// Long-CLIP's context is 248 ids ending in end-of-text (spec A8.3).
  @Test func truncationKeepsTheFirstTokensAndEndsWithEndOfText() throws {
    let content = tokenizer.encode(longText)
    for contextLength in contextLengths {
      let capacity = CLIPTokenizer.contentCapacity(contextLength: contextLength)
      for padding in [CLIPTokenizer.Padding.endOfText, .zero, .none] {
        let result = try tokenizer.tokenize(
          longText, contextLength: contextLength, truncation: .truncate, padding: padding)
        #expect(
          result.ids == [tokenizer.startOfTextID] + content.prefix(capacity) + [
            tokenizer.endOfTextID
          ])
        #expect(result.contentCount == capacity)
        #expect(result.droppedCount == content.count - capacity)
      }
    }
  }

  @Test func textThatExactlyFillsTheContextIsNotTruncated() throws {
    let contextLength = contextLengths[0]
    let capacity = CLIPTokenizer.contentCapacity(contextLength: contextLength)
    let fitting = String(repeating: "a ", count: capacity)
    #expect(tokenizer.encode(fitting).count == capacity)
    let result = try tokenizer.tokenize(fitting, contextLength: contextLength)
    #expect(result.ids.count == contextLength && result.ids.last == tokenizer.endOfTextID)
    #expect(result.droppedCount == 0)
    #expect(
      throws: TokenizerError.textTooLong(
        tokenCount: contextLength + 1, contextLength: contextLength)
    ) {
      try tokenizer.tokenize(fitting + "a", contextLength: contextLength)
    }
  }

  @Test func contextLengthIsAParameter() throws {
    let content = tokenizer.encode("a photo of a cat")
    let contextLength = content.count + CLIPTokenizer.specialTokensPerText + 3
    let result = try tokenizer.tokenize("a photo of a cat", contextLength: contextLength)
    #expect(result.ids.count == contextLength)
    let minimal = CLIPTokenizer.specialTokensPerText
    let framed = try tokenizer.tokenize("a cat", contextLength: minimal, truncation: .truncate)
    #expect(framed.ids == [tokenizer.startOfTextID, tokenizer.endOfTextID])
    #expect(framed.droppedCount == 2)
    #expect(throws: TokenizerError.contextTooShort(contextLength: minimal - 1, minimum: minimal)) {
      try tokenizer.tokenize("", contextLength: minimal - 1)
    }
  }

  /// The slow tokenizer turns a literal end-of-text in user text into its id (spec A7), so the
  /// text model pools there.
  @Test func literalSpecialTokensBecomeTheirIds() throws {
    let ids = try tokenizer.tokenize(
      "a <|endoftext|> b", contextLength: contextLengths[0], padding: .none
    ).ids
    #expect(
      ids == [tokenizer.startOfTextID] + tokenizer.encode("a") + [tokenizer.endOfTextID]
        + tokenizer.encode("b") + [tokenizer.endOfTextID])
    #expect(tokenizer.encode("<|startoftext|>") == [tokenizer.startOfTextID])
  }

  @Test func concurrentCallersGetTheSameIds() async throws {
    let texts = try TokenizerFixtures.corpus().cases.map(\.text)
    let expected = texts.map(tokenizer.encode)
    // A fresh tokenizer, so the callers also race to fill its word cache.
    let tokenizer = try CLIPTokenizer(directory: TokenizerFixtures.vocabularyDirectory.path)
    let results = await withTaskGroup(of: (Int, [Int]).self) { group in
      for (index, text) in texts.enumerated() { group.addTask { (index, tokenizer.encode(text)) } }
      var results = [[Int]](repeating: [], count: texts.count)
      for await (index, ids) in group { results[index] = ids }
      return results
    }
    #expect(results == expected)
  }
}
