import CLIP
import Core
import Testing

// Raw text to CLIP text outputs through the library, as `mmencode text --mode clip` runs it,
// against transformers' CLIPTokenizer(padding="max_length") and text tower
// (fixtures/gen_longtext.py): without the attention mask (mmencode's default, as diffusers and
// Long-CLIP run the tower), with it (transformers' `model(**inputs)`), and padded with 0.

private struct Run {
  let group: String
  let texts: KeyPath<LongTextFixtures.Texts, [String]>
  let truncation: CLIPTokenizer.Truncation
  let padding: CLIPTokenizer.Padding
  let maskPadding: Bool
}

private var runs: [Run] {
  [
    Run(group: "clip", texts: \.clip, truncation: .error, padding: .endOfText, maskPadding: false),
    Run(group: "clip_masked", texts: \.clip, truncation: .error, padding: .endOfText, maskPadding: true),
    Run(group: "clip_zero", texts: \.clip, truncation: .error, padding: .zero, maskPadding: false),
    Run(group: "clip_truncated", texts: \.clipTooLong, truncation: .truncate, padding: .endOfText, maskPadding: false),
  ]
}

@Test(arguments: EncoderFixtures.dualModels)
func rawTextMatchesTransformers(model: String) throws {
  let directory = EncoderFixtures.model(model)
  let encoder = try CLIPTextEncoder.load(directory: directory)
  let tokenizer = try CLIPTokenizer(directory: directory)
  let reference = try LongTextFixtures.reference(model)
  let texts = try LongTextFixtures.texts()
  let context = encoder.config.maxPositionEmbeddings
  for run in runs {
    let tokenized = try texts[keyPath: run.texts].map {
      try tokenizer.tokenize($0, contextLength: context, truncation: run.truncation, padding: run.padding)
    }
    #expect(tokenized.map(\.ids) == (try EncoderFixtures.rows(reference, "\(run.group).input_ids")), "\(model) \(run.group) ids")
    for batchSize in [1, 3] {
      let output = try encoder.encode(
        texts: tokenized, maskPadding: run.maskPadding, keepHiddenStates: true, batchSize: batchSize)
      let label = "\(model) \(run.group) batch \(batchSize)"
      expectClose(try #require(output.lastHiddenState), try reference.tensor("\(run.group).last_hidden_state"), "\(label) hidden")
      expectClose(output.pooled, try reference.tensor("\(run.group).pooler_output"), "\(label) pooled")
      expectClose(try #require(output.embeds), try reference.tensor("\(run.group).text_embeds"), "\(label) embeds")
    }
    // Without hidden states each batch stops after its longest text; the pooled rows stay.
    let pooledOnly = try encoder.encode(texts: tokenized, maskPadding: run.maskPadding, batchSize: 2)
    #expect(pooledOnly.lastHiddenState == nil)
    expectClose(try #require(pooledOnly.embeds), try reference.tensor("\(run.group).text_embeds"), "\(model) \(run.group) trimmed embeds")
  }
}

@Test(arguments: EncoderFixtures.dualModels)
func textLongerThanTheContextIsAnErrorByDefault(model: String) throws {
  let tokenizer = try CLIPTokenizer(directory: EncoderFixtures.model(model))
  let context = try CLIPTextEncoder.load(directory: EncoderFixtures.model(model)).config.maxPositionEmbeddings
  let text = try #require(try LongTextFixtures.texts().clipTooLong.first)
  #expect(throws: TokenizerError.textTooLong(tokenCount: 92, contextLength: context)) {
    try tokenizer.tokenize(text, contextLength: context)
  }
}
