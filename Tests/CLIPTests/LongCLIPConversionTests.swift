import CLIP
import Core
import Foundation
import TestSupport
import Testing

// `.pt` to Hugging Face directory: the written files against the generator's own conversion
// (fixtures/models/longclip-tiny, which transformers loaded to make the references), and the
// converted model against transformers' outputs.

/// Converts the tiny checkpoint into a fresh temporary directory and runs `body` on it.
private func withConverted(_ body: (String) throws -> Void) throws {
  let directory = try makeTemporaryDirectory()
  defer { try? FileManager.default.removeItem(at: directory) }
  let output = directory.appendingPathComponent("converted").path
  let checkpoint = try LongCLIPCheckpoint(
    path: Repository.fixture(LongTextFixtures.longCLIPCheckpoint), headWidth: LongTextFixtures.headWidth)
  try checkpoint.writeHuggingFaceDirectory(output, tokenizerDirectory: Repository.fixture("tokenizer"))
  try body(output)
}

private func jsonObject(_ path: String) throws -> NSDictionary {
  let data = try Data(contentsOf: URL(fileURLWithPath: path))
  return try #require(try JSONSerialization.jsonObject(with: data) as? NSDictionary)
}

@Test func convertedDirectoryMatchesThePythonConversion() throws {
  try withConverted { converted in
    let python = Repository.fixture("models/longclip-tiny")
    let ours = try Checkpoint(path: converted)
    let theirs = try Checkpoint(path: python)
    #expect(ours.names == theirs.names)
    for name in theirs.names {
      #expect(bitIdentical(try ours.tensor(name), try theirs.tensor(name)), "\(name)")
    }
    #expect(try CLIPCheckpointConfig.load(directory: converted) == CLIPCheckpointConfig.load(directory: python))
    for file in ["tokenizer_config.json", "special_tokens_map.json", "preprocessor_config.json"] {
      #expect(try jsonObject("\(converted)/\(file)") == jsonObject("\(python)/\(file)"), "\(file)")
    }
    for file in ["vocab.json", "merges.txt"] {
      let copy = try Data(contentsOf: URL(fileURLWithPath: "\(converted)/\(file)"))
      #expect(copy == (try Data(contentsOf: URL(fileURLWithPath: "\(python)/\(file)"))), "\(file)")
    }
    #expect(try PreprocessorConfig.load(contentsOf: "\(converted)/preprocessor_config.json").centerCrop?.width == 32)
    let metadata = try SafeTensorsFile(path: "\(converted)/model.safetensors").metadata
    #expect(metadata["format"] == "pt")
    #expect(metadata["mmencode.converted_from"] == "longclip-tiny.pt")
  }
}

@Test func convertedModelMatchesTransformersFromRawText() throws {
  try withConverted { converted in
    let model = try CLIPModel.load(directory: converted)
    let tokenizer = try CLIPTokenizer(directory: converted)
    let reference = try LongTextFixtures.reference(LongTextFixtures.longCLIPModel)
    let texts = try LongTextFixtures.texts()
    let context = model.config.textConfig.maxPositionEmbeddings
    let runs: [(group: String, texts: [String], truncation: CLIPTokenizer.Truncation, padding: CLIPTokenizer.Padding)] = [
      ("long_clip", texts.longClip, .error, .endOfText),
      ("long_clip_zero", texts.longClip, .error, .zero),
      ("long_clip_truncated", texts.longClipTooLong, .truncate, .endOfText),
    ]
    for run in runs {
      let tokenized = try run.texts.map {
        try tokenizer.tokenize($0, contextLength: context, truncation: run.truncation, padding: run.padding)
      }
      #expect(tokenized.map(\.ids) == (try EncoderFixtures.rows(reference, "\(run.group).input_ids")), "\(run.group) ids")
      let output = try model.text.encode(texts: tokenized, keepHiddenStates: true, batchSize: 2)
      expectClose(try #require(output.lastHiddenState), try reference.tensor("\(run.group).last_hidden_state"), "\(run.group) hidden")
      expectClose(output.pooled, try reference.tensor("\(run.group).pooler_output"), "\(run.group) pooled")
      expectClose(try #require(output.embeds), try reference.tensor("\(run.group).text_embeds"), "\(run.group) embeds")
    }
    let vision = try model.vision.encode(pixels: try reference.tensor("vision.pixel_values"))
    expectClose(vision.lastHiddenState, try reference.tensor("vision.last_hidden_state"), "vision hidden")
    expectClose(vision.pooled, try reference.tensor("vision.pooler_output"), "vision pooled")
    expectClose(try #require(vision.embeds), try reference.tensor("vision.image_embeds"), "vision embeds")
  }
}

@Test func conversionNeverReplacesAnExistingDirectory() throws {
  let directory = try makeTemporaryDirectory()
  defer { try? FileManager.default.removeItem(at: directory) }
  let keep = directory.appendingPathComponent("keep.txt")
  try Data("mine".utf8).write(to: keep)
  let checkpoint = try LongCLIPCheckpoint(
    path: Repository.fixture(LongTextFixtures.longCLIPCheckpoint), headWidth: LongTextFixtures.headWidth)
  #expect(throws: WeightError.self) {
    try checkpoint.writeHuggingFaceDirectory(directory.path, tokenizerDirectory: Repository.fixture("tokenizer"))
  }
  #expect(try FileManager.default.contentsOfDirectory(atPath: directory.path) == ["keep.txt"])
}

@Test func conversionNeedsAFittingTokenizer() throws {
  let directory = try makeTemporaryDirectory()
  defer { try? FileManager.default.removeItem(at: directory) }
  let output = directory.appendingPathComponent("out").path
  // A 16-row vocabulary against CLIP's 49408 tokens.
  let small = try LongCLIPCheckpoint(path: Repository.fixture("torch/longclip-untrained.pt"), headWidth: 4)
  #expect(throws: LongCLIPError.self) {
    try small.writeHuggingFaceDirectory(output, tokenizerDirectory: Repository.fixture("tokenizer"))
  }
  let checkpoint = try LongCLIPCheckpoint(
    path: Repository.fixture(LongTextFixtures.longCLIPCheckpoint), headWidth: LongTextFixtures.headWidth)
  #expect(throws: TokenizerError.missingFile(path: directory.path + "/vocab.json")) {
    try checkpoint.writeHuggingFaceDirectory(output, tokenizerDirectory: directory.path)
  }
  #expect(!FileManager.default.fileExists(atPath: output))
}
