import CLIP
import Core
import Testing

// Every fixture checkpoint, loaded every way it can be, against transformers' outputs for the same
// inputs (fixtures/gen_clip.py). Tolerance: EncoderFixtures.tolerance (1e-4 absolute).

/// One text run of a reference file: the ids, the optional mask, and the outputs' key prefix.
private struct TextRun {
  let outputs: String
  let ids: String
  let mask: String?
}

private let textRuns = [
  // Padded with end-of-text to the context length (the long text truncated), plus a row without
  // any end-of-text; no attention mask.
  TextRun(outputs: "text", ids: "text.input_ids", mask: nil),
  // The same ids with the tokenizer's attention mask.
  TextRun(outputs: "text_masked", ids: "text.input_ids", mask: "text.attention_mask"),
  // Shorter than the context: padded to the longest text only, with the mask.
  TextRun(outputs: "text_short", ids: "text_short.input_ids", mask: "text_short.attention_mask"),
]

private func expectTextMatches(_ encoder: CLIPTextEncoder, reference name: String, label: String)
  throws
{
  let reference = try EncoderFixtures.reference(name)
  for run in textRuns {
    let ids = try EncoderFixtures.rows(reference, run.ids)
    let mask = try run.mask.map { try EncoderFixtures.rows(reference, $0).map { $0.map { $0 != 0 } } }
    let output = try encoder.encode(tokenIDs: ids, attentionMask: mask)
    try expectMatchesReference(
      output.lastHiddenState, reference, "\(run.outputs).last_hidden_state", label: label)
    try expectMatchesReference(output.pooled, reference, "\(run.outputs).pooler_output", label: label)
    try expectMatchesReference(try #require(output.embeds), reference, "\(run.outputs).text_embeds", label: label)
  }
}

private func expectVisionMatches(
  _ encoder: CLIPVisionEncoder, reference name: String, label: String
) throws {
  let reference = try EncoderFixtures.reference(name)
  let output = try encoder.encode(pixels: try reference.tensor("vision.pixel_values"))
  try expectMatchesReference(
    output.lastHiddenState, reference, "vision.last_hidden_state", label: label)
  try expectMatchesReference(output.pooled, reference, "vision.pooler_output", label: label)
  try expectMatchesReference(try #require(output.embeds), reference, "vision.image_embeds", label: label)
}

@Test(arguments: EncoderFixtures.dualModels)
func encoderDualModelMatchesTransformers(model: String) throws {
  let clip = try CLIPModel.load(directory: EncoderFixtures.model(model))
  try expectTextMatches(clip.text, reference: model, label: model)
  try expectVisionMatches(clip.vision, reference: model, label: model)
}

@Test(arguments: EncoderFixtures.dualModels)
func encoderOneTowerFromDualCheckpointMatchesTransformers(model: String) throws {
  let directory = EncoderFixtures.model(model)
  try expectTextMatches(
    try CLIPTextEncoder.load(directory: directory), reference: model, label: "\(model) text only")
  try expectVisionMatches(
    try CLIPVisionEncoder.load(directory: directory), reference: model,
    label: "\(model) vision only")
}

@Test func encoderTextWithProjectionCheckpointMatchesTransformers() throws {
  let name = EncoderFixtures.textOnlyModel
  let encoder = try CLIPTextEncoder.load(directory: EncoderFixtures.model(name))
  try expectTextMatches(encoder, reference: name, label: name)
}

@Test func encoderVisionWithProjectionCheckpointMatchesTransformers() throws {
  let name = EncoderFixtures.visionOnlyModel
  let encoder = try CLIPVisionEncoder.load(directory: EncoderFixtures.model(name))
  try expectVisionMatches(encoder, reference: name, label: name)
}
