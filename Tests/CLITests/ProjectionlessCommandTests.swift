import Core
import Foundation
import TestSupport
import Testing

// `mmencode text` and `mmencode image` with towers that have no projection (transformers'
// CLIPTextModel, CLIPVisionModel) and with a diffusers pipeline directory, against transformers
// (fixtures/gen_clip_noproj.py): no *_embeds, the tower's own outputs within 1e-4.

private let textModel = "clip-tiny-text-noproj"
private let visionModel = "clip-tiny-vision-noproj"
private let pipeline = "sd-tiny-pipeline"

private func reference(_ model: String) throws -> SafeTensorsFile {
  try SafeTensorsFile(path: Repository.fixture("reference/clip/\(model).safetensors"))
}

/// The JSON list stored under `key` in a file's metadata.
private func metadataList<T: Decodable>(_ file: SafeTensorsFile, _ key: String) throws -> T {
  try JSONDecoder().decode(T.self, from: Data(try #require(file.metadata[key]).utf8))
}

@Test(arguments: [textModel, pipeline])
func textWithoutProjectionWritesTheTowersOutputs(model: String) throws {
  let expected = try reference(textModel)
  try withTemporaryDirectory { directory in
    let out = directory + "/out.safetensors"
    let texts: [String] = try metadataList(expected, "clip.texts")
    try TextFixtures.run(["text"] + texts + ["-m", Repository.fixture("models/\(model)"), "-o", out, "--hidden", "--batch-size", "2"])
    let output = try SafeTensorsFile(path: out)
    #expect(output.names == ["input_ids", "last_hidden_state", "pooler_output"])
    for name in ["last_hidden_state", "pooler_output"] {
      try expectOutput(output, name, matches: expected, "clip.\(name)")
    }
    try expectIDs(output, "input_ids", equal: expected, "clip.input_ids")
    #expect(output.metadata["text.projection"] == "false")
  }
}

@Test func textReadsAPipelinesTextEncoderAndTokenizer() throws {
  let root = Repository.fixture("models/\(pipeline)")
  try withTemporaryDirectory { directory in
    let out = directory + "/out.safetensors"
    try TextFixtures.run(["text", "a photo of a cat", "-m", root, "-o", out])
    let metadata = try SafeTensorsFile(path: out).metadata
    #expect(metadata["model"] == root)
    #expect(metadata["model.path"] == root + "/text_encoder")
    #expect(metadata["text.tokenizer_path"] == root + "/tokenizer")
    // The weights hashed are the text encoder's, the same files as the plain checkpoint's.
    try TextFixtures.run(["text", "a photo of a cat", "-m", Repository.fixture("models/\(textModel)"), "-o", directory + "/plain.safetensors"])
    let plain = try SafeTensorsFile(path: directory + "/plain.safetensors").metadata
    #expect(metadata["model.sha256"] != nil && metadata["model.sha256"] == plain["model.sha256"])
  }
}

@Test func textSegmentsWithoutProjectionWriteOnlyTheRows() throws {
  // LongSD's setting: LongAlign segments on SD 1.5's CLIPTextModel, from the pipeline directory.
  let expected = try reference(textModel)
  try withTemporaryDirectory { directory in
    let out = directory + "/out.safetensors"
    let paragraphs: [String] = try metadataList(expected, "segments.texts")
    try TextFixtures.run(
      ["text", "--mode", "segments"] + paragraphs + ["-m", Repository.fixture("models/\(pipeline)"), "-o", out, "--batch-size", "4"])
    let output = try SafeTensorsFile(path: out)
    #expect(output.names == ["last_hidden_state", "segment_ids"])
    try expectOutput(output, "last_hidden_state", matches: expected, "segments.last_hidden_state")
    try expectIDs(output, "segment_ids", equal: expected, "segments.segment_ids")
    let segments: [[String]] = try metadataList(output, "text.segments")
    #expect(segments == (try metadataList(expected, "segments.segments")))
    #expect(output.metadata["text.projection"] == "false")
  }
}

@Test func textWithAProjectionSaysSo() throws {
  try withTemporaryDirectory { directory in
    let out = directory + "/out.safetensors"
    try TextFixtures.run(["text", "--mode", "segments", "A cat. A dog.", "-m", Repository.fixture("models/clip-tiny-a"), "-o", out])
    let output = try SafeTensorsFile(path: out)
    #expect(output.names.contains("text_embeds"))
    #expect(output.metadata["text.projection"] == "true")
  }
}

@Test func imageWithoutProjectionWritesTheTowersOutputs() throws {
  let expected = try reference(visionModel)
  let images: [String] = try metadataList(expected, "images")
  try withTemporaryDirectory { directory in
    let out = directory + "/out.safetensors"
    try TextFixtures.run(
      ["image"] + images.map(Repository.fixture) + ["-m", Repository.fixture("models/\(visionModel)"), "-o", out, "--hidden", "--batch-size", "2"])
    let output = try SafeTensorsFile(path: out)
    #expect(output.names == ["last_hidden_state", "pooler_output"])
    for name in ["last_hidden_state", "pooler_output"] {
      try expectOutput(output, name, matches: expected, "image.\(name)")
    }
    #expect(output.metadata["image.projection"] == "false")
  }
}

@Test func normalizeWithoutProjectionIsAnErrorNamingTheModel() throws {
  try withTemporaryDirectory { directory in
    let out = directory + "/out.safetensors"
    for mode in ["clip", "segments"] {
      let model = Repository.fixture("models/\(pipeline)")
      try TextFixtures.fail(
        ["text", "--mode", mode, "a cat", "-m", model, "-o", out, "--normalize"],
        mentioning: [model, "--normalize", "text_embeds", "CLIPTextModel", "no projection"])
    }
    let model = Repository.fixture("models/\(visionModel)")
    try TextFixtures.fail(
      ["image", Repository.fixture("images/rgb8.png"), "-m", model, "-o", out, "--normalize"],
      mentioning: [model, "--normalize", "image_embeds", "CLIPVisionModel", "no projection"])
    #expect(!FileManager.default.fileExists(atPath: out))
  }
}
