import CLIP
import Core
import Foundation
import TestSupport
import Testing

// Whether a one-tower checkpoint has its projection comes from config.json's `architectures`
// (transformers' CLIPTextModel and CLIPTextModelWithProjection share a model_type), or from the
// weights when it names no class; a checkpoint whose weights disagree with its class fails.
// Each case pairs a fixture's weights (linked) with an edited copy of a fixture's config.json.

/// A checkpoint directory whose model.safetensors links to `weightsModel`'s and whose config.json
/// is `configModel`'s with `architectures` replaced by `architectures` (removed when nil).
private func checkpoint(
  weightsOf weightsModel: String, configOf configModel: String, architectures: [String]?
) throws -> URL {
  let directory = try makeTemporaryDirectory()
  try FileManager.default.createSymbolicLink(
    atPath: directory.appendingPathComponent("model.safetensors").path,
    withDestinationPath: EncoderFixtures.model(weightsModel) + "/model.safetensors")
  let original = try Data(contentsOf: URL(fileURLWithPath: EncoderFixtures.model(configModel) + "/config.json"))
  var config = try #require(try JSONSerialization.jsonObject(with: original) as? [String: Any])
  config["architectures"] = architectures
  try JSONSerialization.data(withJSONObject: config).write(to: directory.appendingPathComponent("config.json"))
  return directory
}

/// The same tower with and without its projection: weights with it, weights without it.
private struct TowerFixtures: Sendable, CustomTestStringConvertible {
  let projected: String
  let plain: String
  let withProjection: String
  let withoutProjection: String
  let projectionKey: String
  var testDescription: String { withoutProjection }

  /// Loads the tower of the checkpoint in `directory` and says whether it has its projection.
  let hasProjection: @Sendable (String) throws -> Bool
}

private let towers = [
  TowerFixtures(
    projected: EncoderFixtures.textOnlyModel, plain: "clip-tiny-text-noproj",
    withProjection: "CLIPTextModelWithProjection", withoutProjection: "CLIPTextModel",
    projectionKey: "text_projection.weight",
    hasProjection: { try CLIPTextEncoder.load(directory: $0).hasProjection }),
  TowerFixtures(
    projected: EncoderFixtures.visionOnlyModel, plain: "clip-tiny-vision-noproj",
    withProjection: "CLIPVisionModelWithProjection", withoutProjection: "CLIPVisionModel",
    projectionKey: "visual_projection.weight",
    hasProjection: { try CLIPVisionEncoder.load(directory: $0).hasProjection }),
]

@Test(arguments: towers)
private func architecturesDecideTheProjection(tower: TowerFixtures) throws {
  for (weights, architectures, expected) in [
    (tower.projected, [tower.withProjection], true), (tower.plain, [tower.withoutProjection], false),
  ] {
    let directory = try checkpoint(weightsOf: weights, configOf: weights, architectures: architectures)
    defer { try? FileManager.default.removeItem(at: directory) }
    #expect(try tower.hasProjection(directory.path) == expected, "\(architectures)")
  }
}

@Test(arguments: towers)
private func withoutArchitecturesTheWeightsDecide(tower: TowerFixtures) throws {
  for (weights, expected) in [(tower.projected, true), (tower.plain, false)] {
    for architectures in [nil, [String]()] {
      let directory = try checkpoint(weightsOf: weights, configOf: weights, architectures: architectures)
      defer { try? FileManager.default.removeItem(at: directory) }
      #expect(try tower.hasProjection(directory.path) == expected, "\(weights) \(String(describing: architectures))")
    }
  }
}

@Test(arguments: towers)
private func aWithProjectionClassNeedsTheProjectionTensor(tower: TowerFixtures) throws {
  let directory = try checkpoint(
    weightsOf: tower.plain, configOf: tower.plain, architectures: [tower.withProjection])
  defer { try? FileManager.default.removeItem(at: directory) }
  let file = directory.appendingPathComponent("model.safetensors").path
  #expect(throws: WeightError.missingTensor(path: file, key: tower.projectionKey)) {
    try tower.hasProjection(directory.path)
  }
}

@Test(arguments: towers)
private func aPlainClassRejectsAStrayProjectionTensor(tower: TowerFixtures) throws {
  // transformers' CLIPTextModel / CLIPVisionModel would not load it either (an unexpected key).
  let directory = try checkpoint(
    weightsOf: tower.projected, configOf: tower.projected, architectures: [tower.withoutProjection])
  defer { try? FileManager.default.removeItem(at: directory) }
  let file = directory.appendingPathComponent("model.safetensors").path
  #expect(throws: WeightError.unusedTensors(path: file, keys: [tower.projectionKey])) {
    try tower.hasProjection(directory.path)
  }
}

@Test(arguments: towers)
private func aClassOfAnotherTowerIsAConfigError(tower: TowerFixtures) throws {
  let other = tower.withoutProjection == "CLIPTextModel" ? "CLIPVisionModel" : "CLIPTextModel"
  let directory = try checkpoint(weightsOf: tower.plain, configOf: tower.plain, architectures: [other])
  defer { try? FileManager.default.removeItem(at: directory) }
  let error = try #require(throws: CLIPError.self) { try tower.hasProjection(directory.path) }
  guard case .invalidConfig(let path, let reason) = error else {
    Issue.record("expected invalidConfig, got \(error)")
    return
  }
  #expect(path == directory.appendingPathComponent("config.json").path)
  #expect(reason.contains("architectures") && reason.contains(other) && reason.contains(tower.withoutProjection), "\(reason)")
}

@Test func aDualEncoderCheckpointAlwaysHasBothProjections() throws {
  let checkpoint = try CLIPCheckpointConfig.load(directory: EncoderFixtures.model("clip-tiny-a"))
  #expect(checkpoint.architecture == .withProjection)
  let model = try CLIPModel.load(directory: EncoderFixtures.model("clip-tiny-a"))
  #expect(model.text.hasProjection && model.vision.hasProjection)
}
