import CLIP
import Foundation
import TestSupport
import Testing

/// Writes `json` as config.json in a fresh directory and decodes it; the directory is removed.
private func decodeConfig(_ json: String) throws -> CLIPCheckpointConfig {
  let directory = try makeTemporaryDirectory()
  defer { try? FileManager.default.removeItem(at: directory) }
  try json.write(to: directory.appendingPathComponent("config.json"), atomically: true, encoding: .utf8)
  return try CLIPCheckpointConfig.load(directory: directory.path)
}

/// The error decoding `json` as config.json throws, with the path it was written to.
private func configError(_ json: String) throws -> (error: CLIPError, path: String) {
  let directory = try makeTemporaryDirectory()
  defer { try? FileManager.default.removeItem(at: directory) }
  let path = directory.appendingPathComponent("config.json").path
  try json.write(toFile: path, atomically: true, encoding: .utf8)
  let error = try #require(throws: CLIPError.self) {
    try CLIPCheckpointConfig.load(directory: directory.path)
  }
  return (error, path)
}

@Test func configAbsentKeysTakeTransformersDefaults() throws {
  // config-defaults.json is every key transformers 4.57 writes for CLIPConfig().
  let full = try String(
    contentsOf: Repository.fixtures.appendingPathComponent("reference/clip/config-defaults.json"),
    encoding: .utf8)
  let fromTransformers = try decodeConfig(full)
  #expect(try decodeConfig(#"{"model_type": "clip"}"#) == fromTransformers)
  #expect(fromTransformers == .clip(CLIPConfig()))
  #expect(try decodeConfig(#"{"model_type": "clip_text_model"}"#) == .text(CLIPTextConfig(), .unspecified))
  #expect(try decodeConfig(#"{"model_type": "clip_vision_model"}"#) == .vision(CLIPVisionConfig(), .unspecified))
}

@Test func configReadsEverySizeOfTheFixture() throws {
  let checkpoint = try CLIPCheckpointConfig.load(directory: EncoderFixtures.model("clip-tiny-b"))
  guard case .clip(let config) = checkpoint else {
    Issue.record("clip-tiny-b decoded as \(checkpoint.modelType)")
    return
  }
  #expect(
    config.textConfig
      == CLIPTextConfig(
        vocabSize: 49408, hiddenSize: 12, intermediateSize: 52, projectionDim: 512,
        numHiddenLayers: 3, numAttentionHeads: 3, maxPositionEmbeddings: 40, hiddenAct: .gelu,
        layerNormEps: 1e-6, padTokenId: 1, bosTokenId: 0, eosTokenId: 2))
  #expect(
    config.visionConfig
      == CLIPVisionConfig(
        hiddenSize: 36, intermediateSize: 68, projectionDim: 512, numHiddenLayers: 3,
        numAttentionHeads: 6, numChannels: 3, imageSize: 60, patchSize: 12, hiddenAct: .quickGelu,
        layerNormEps: 1e-5))
  // CLIPModel projects to the model's projection_dim, not the sub-configs' default 512.
  #expect(config.projectionDim == 16)
  #expect(checkpoint.textTower?.projectionDim == 16)
  #expect(checkpoint.visionTower?.projectionDim == 16)
}

@Test func configLegacyDictReplacesSubConfig() throws {
  // transformers < 4.26 wrote text_config_dict; when not null it wins over text_config.
  let config = try decodeConfig(
    #"""
    {"model_type": "clip",
     "text_config": {"hidden_size": 64, "num_attention_heads": 4, "eos_token_id": null},
     "text_config_dict": {"hidden_size": 32, "num_attention_heads": 2},
     "vision_config": {"image_size": 64, "patch_size": 16, "bos_token_id": null},
     "vision_config_dict": null}
    """#)
  #expect(config.textTower?.hiddenSize == 32)
  #expect(config.textTower?.numAttentionHeads == 2)
  #expect(config.textTower?.eosTokenId == CLIPTextConfig().eosTokenId)
  #expect(config.visionTower?.imageSize == 64)
  #expect(config.visionTower?.positionCount == 17)
}

@Test func configEncodesWhatItDecodes() throws {
  let original = CLIPConfig(
    textConfig: CLIPTextConfig(hiddenSize: 24, numAttentionHeads: 3, maxPositionEmbeddings: 248),
    visionConfig: CLIPVisionConfig(hiddenSize: 30, numAttentionHeads: 5, hiddenAct: .gelu),
    projectionDim: 7)
  let json = String(decoding: try JSONEncoder().encode(original), as: UTF8.self)
  #expect(try decodeConfig(json) == .clip(original))
  let vision = String(decoding: try JSONEncoder().encode(original.visionConfig), as: UTF8.self)
  #expect(try decodeConfig(vision) == .vision(original.visionConfig, .unspecified))
}

/// A config.json that must be rejected and a fragment of the reason.
struct BadConfig: Sendable, CustomTestStringConvertible {
  let json: String
  let reason: String
  var testDescription: String { reason }
}

@Test(arguments: [
  BadConfig(json: "{", reason: "not valid JSON"),
  BadConfig(json: "[1, 2]", reason: "expected a value of type"),
  BadConfig(json: #"{"hidden_size": 8}"#, reason: "no model_type"),
  BadConfig(
    json: #"{"model_type": "clip", "text_config": {"hidden_size": 32, "num_attention_heads": 5}}"#,
    reason: "text_config: num_attention_heads 5 does not divide hidden_size 32"),
  BadConfig(
    json: #"{"model_type": "clip_vision_model", "image_size": 32, "patch_size": 40}"#,
    reason: "patch_size 40 is larger than image_size 32"),
  BadConfig(
    json: #"{"model_type": "clip", "vision_config": {"hidden_act": "relu"}}"#,
    reason: "vision_config.hidden_act: unsupported hidden_act 'relu' (supported: quick_gelu, gelu)"),
  BadConfig(
    json: #"{"model_type": "clip_text_model", "hidden_size": "wide"}"#,
    reason: "hidden_size: expected a value of type Int"),
  BadConfig(
    json: #"{"model_type": "clip_text_model", "max_position_embeddings": 0}"#,
    reason: "max_position_embeddings must be positive, got 0"),
  BadConfig(
    json: #"{"model_type": "clip", "projection_dim": -3}"#,
    reason: "projection_dim must be positive, got -3"),
  BadConfig(
    json: #"{"model_type": "clip_vision_model", "layer_norm_eps": 0}"#,
    reason: "layer_norm_eps must be positive"),
])
func configRejectsInvalidFiles(_ bad: BadConfig) throws {
  let (error, path) = try configError(bad.json)
  guard case .invalidConfig(let errorPath, let reason) = error else {
    Issue.record("expected invalidConfig, got \(error)")
    return
  }
  #expect(errorPath == path)
  #expect(reason.contains(bad.reason), "reason: \(reason)")
  let message = try #require(error.errorDescription)
  #expect(message.hasPrefix(path) && !message.contains("\n"), "message: \(message)")
}

@Test func configRejectsUnknownModelType() throws {
  let (error, path) = try configError(#"{"model_type": "bert"}"#)
  #expect(
    error
      == .unknownModelType(
        path: path, modelType: "bert", known: ["clip", "clip_text_model", "clip_vision_model"]))
  #expect(error.errorDescription?.contains("unknown model_type 'bert'") == true)
}

@Test func configMissingFileNamesThePath() throws {
  let directory = try makeTemporaryDirectory()
  defer { try? FileManager.default.removeItem(at: directory) }
  let path = directory.appendingPathComponent("config.json").path
  #expect(throws: CLIPError.missingFile(path: path)) {
    try CLIPCheckpointConfig.load(directory: directory.path)
  }
}
