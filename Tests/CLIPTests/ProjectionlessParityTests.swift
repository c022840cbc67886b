import CLIP
import Core
import Foundation
import Media
import TestSupport
import Testing

// Towers without a projection (transformers' CLIPTextModel and CLIPVisionModel) and the text half
// of a diffusers pipeline, against transformers' outputs for them (fixtures/gen_clip_noproj.py).
// The tolerance is EncoderFixtures.tolerance: float32 on both sides from the same weights.

private let textModel = "clip-tiny-text-noproj"
private let visionModel = "clip-tiny-vision-noproj"
private let pipeline = "sd-tiny-pipeline"

/// The JSON list stored under `key` in the reference's metadata.
private func metadataList<T: Decodable>(_ reference: SafeTensorsFile, _ key: String) throws -> T {
  try JSONDecoder().decode(T.self, from: Data(try #require(reference.metadata[key]).utf8))
}

@Test(arguments: [textModel, pipeline])
func textModelWithoutProjectionMatchesTransformers(model: String) throws {
  let files = CLIPTextModelFiles(modelDirectory: EncoderFixtures.model(model))
  let encoder = try CLIPTextEncoder.load(directory: files.encoderDirectory)
  let tokenizer = try CLIPTokenizer(directory: files.tokenizerDirectory)
  #expect(!encoder.hasProjection)
  let reference = try EncoderFixtures.reference(textModel)
  let texts: [String] = try metadataList(reference, "clip.texts")
  let tokenized = try texts.map {
    try tokenizer.tokenize($0, contextLength: encoder.config.maxPositionEmbeddings, padding: .endOfText)
  }
  #expect(tokenized.map(\.ids) == (try EncoderFixtures.rows(reference, "clip.input_ids")))
  for (group, masked) in [("clip", false), ("clip_masked", true)] {
    let output = try encoder.encode(texts: tokenized, maskPadding: masked, keepHiddenStates: true, batchSize: 2)
    #expect(output.embeds == nil)
    let label = "\(model) \(group)"
    try expectMatchesReference(try #require(output.lastHiddenState), reference, "\(group).last_hidden_state", label: label)
    try expectMatchesReference(output.pooled, reference, "\(group).pooler_output", label: label)
  }
}

@Test func longAlignSegmentsOnATextModelWithoutProjection() throws {
  // LongSD runs SD 1.5's CLIPTextModel: the rows need no projection, the pooled vector does.
  let files = CLIPTextModelFiles(modelDirectory: EncoderFixtures.model(pipeline))
  let encoder = try LongAlignEncoder(
    encoder: try CLIPTextEncoder.load(directory: files.encoderDirectory),
    tokenizer: try CLIPTokenizer(directory: files.tokenizerDirectory), options: LongAlignOptions(batchSize: 3))
  let reference = try EncoderFixtures.reference(textModel)
  try expectMatchesReference(encoder.padVector, reference, "segments.pad_vector", label: "pad vector")
  let outputs = try encoder.encode(try metadataList(reference, "segments.texts"))
  #expect(outputs.allSatisfy { $0.embeds == nil })
  #expect(outputs.map { $0.segments.map(\.text) } == (try metadataList(reference, "segments.segments")))
  #expect(outputs.map(\.segmentIDs) == (try EncoderFixtures.rows(reference, "segments.segment_ids")))
  try expectMatchesReference(
    Tensor.stack(outputs.map(\.hiddenStates)), reference, "segments.last_hidden_state", label: "segment rows")
}

@Test func visionModelWithoutProjectionMatchesTransformers() throws {
  let directory = EncoderFixtures.model(visionModel)
  let encoder = try CLIPVisionEncoder.load(directory: directory)
  #expect(!encoder.hasProjection)
  let reference = try EncoderFixtures.reference(visionModel)
  let fromPixels = try encoder.encode(pixels: try reference.tensor("vision.pixel_values"))
  // Pillow's decoding and transformers' preprocessing of the image files, against Media's and ours.
  let images: [String] = try metadataList(reference, "images")
  let preprocessor = try ImagePreprocessor(contentsOf: directory + "/preprocessor_config.json")
  let fromFiles = try encoder.encode(
    pixels: try preprocessor.preprocess(
      images.map { try StillImage.read(path: Repository.fixture($0)) }))
  for (group, output) in [("vision", fromPixels), ("image", fromFiles)] {
    #expect(output.embeds == nil)
    try expectMatchesReference(output.lastHiddenState, reference, "\(group).last_hidden_state", label: visionModel)
    try expectMatchesReference(output.pooled, reference, "\(group).pooler_output", label: visionModel)
  }
}

@Test func modelFilesOfAPipelineAreItsTextEncoderAndTokenizer() {
  let root = EncoderFixtures.model(pipeline)
  let files = CLIPTextModelFiles(modelDirectory: root)
  #expect(files.encoderDirectory == root + "/text_encoder")
  #expect(files.tokenizerDirectory == root + "/tokenizer")
  let plain = CLIPTextModelFiles(modelDirectory: EncoderFixtures.model(textModel))
  #expect(plain.encoderDirectory == EncoderFixtures.model(textModel))
  #expect(plain.tokenizerDirectory == plain.encoderDirectory)
}
