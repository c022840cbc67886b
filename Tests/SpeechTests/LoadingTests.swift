import Core
import Foundation
import Speech
import TestSupport
import Testing

/// Copies a fixture model directory into a fresh temporary directory.
private func copyOfModel(_ name: String) throws -> URL {
  let dir = try makeTemporaryDirectory()
  let source = URL(fileURLWithPath: Fixtures.model(name))
  for file in try FileManager.default.contentsOfDirectory(atPath: source.path) {
    try FileManager.default.copyItem(
      at: source.appendingPathComponent(file), to: dir.appendingPathComponent(file))
  }
  return dir
}

/// A short window (3 s) keeps these structural tests cheap; parity is tested elsewhere.
private let shortWindow = Array(try! Fixtures.waveform().prefix(3 * AudioFrontEnd.sampleRate))

@Test func qwen2AudioLoadingNeverOpensTheLanguageModelShard() throws {
  let dir = try copyOfModel("qwen2audio-tiny")
  defer { try? FileManager.default.removeItem(at: dir) }
  let languageShard = dir.appendingPathComponent("model-00002-of-00002.safetensors")
  try Data("this shard is not a safetensors file".utf8).write(to: languageShard)
  // The corrupt shard is really unreadable, so opening it would have thrown.
  let checkpoint = try Checkpoint(path: dir.path)
  #expect(throws: WeightError.self) { try checkpoint.tensor("multi_modal_projector.linear.weight") }

  let encoder = try SpeechEncoder(directory: dir.path)
  let original = try SpeechEncoder(directory: Fixtures.model("qwen2audio-tiny"))
  #expect(encoder.encodeWindow(shortWindow) == original.encodeWindow(shortWindow))
}

/// The fixture's tensors renamed by `rename` (nil drops one), written as float32 beside its config.
private func rewrittenWhisper(_ rename: (String) -> String?) throws -> URL {
  let dir = try makeTemporaryDirectory()
  let source = Fixtures.model("whisper-tiny")
  let file = try SafeTensorsFile(path: source + "/model.safetensors")
  let arrays = try file.names.compactMap { name in
    try rename(name).map { NamedArray($0, try file.tensor(name)) }
  }
  try writeSafeTensors(arrays, to: dir.appendingPathComponent("model.safetensors").path)
  try FileManager.default.copyItem(
    atPath: source + "/config.json", toPath: dir.appendingPathComponent("config.json").path)
  return dir
}

@Test func whisperLoadsFromBaseModelAndBareEncoderLayouts() throws {
  let original = try SpeechEncoder(directory: Fixtures.model("whisper-tiny"))
  let expected = original.encodeWindow(shortWindow)
  // WhisperModel saves "encoder.*" / "decoder.*"; a bare WhisperEncoder saves its own names.
  let layouts: [(String) -> String?] = [
    { $0.hasPrefix("model.") ? String($0.dropFirst("model.".count)) : $0 },
    { $0.hasPrefix("model.encoder.") ? String($0.dropFirst("model.encoder.".count)) : nil },
  ]
  for rename in layouts {
    let dir = try rewrittenWhisper(rename)
    defer { try? FileManager.default.removeItem(at: dir) }
    #expect(try SpeechEncoder(directory: dir.path).encodeWindow(shortWindow) == expected)
  }
}

@Test func loadingIsStrict() throws {
  // An extra tensor under the encoder prefix (a key bias Whisper does not have) is refused...
  let extra = try rewrittenWhisper { $0 }
  defer { try? FileManager.default.removeItem(at: extra) }
  let file = try SafeTensorsFile(path: extra.appendingPathComponent("model.safetensors").path)
  var arrays = try file.names.map { NamedArray($0, try file.tensor($0)) }
  arrays.append(NamedArray("model.encoder.layers.0.self_attn.k_proj.bias", Tensor(repeating: 0, shape: [24])))
  try writeSafeTensors(arrays, to: extra.appendingPathComponent("model.safetensors").path)
  #expect(throws: WeightError.unusedTensors(
    path: extra.appendingPathComponent("model.safetensors").path,
    keys: ["model.encoder.layers.0.self_attn.k_proj.bias"])) {
    try SpeechEncoder(directory: extra.path)
  }
  // ...and so is a missing one.
  let missing = try rewrittenWhisper { $0 == "model.encoder.layers.1.fc2.bias" ? nil : $0 }
  defer { try? FileManager.default.removeItem(at: missing) }
  #expect(throws: WeightError.missingTensor(
    path: missing.appendingPathComponent("model.safetensors").path,
    key: "model.encoder.layers.1.fc2.bias")) {
    try SpeechEncoder(directory: missing.path)
  }
}

/// The fixture's config with `edit` applied, in a copy of the model directory.
private func withConfig(_ model: String, _ edit: (inout [String: Any]) -> Void) throws -> URL {
  let dir = try copyOfModel(model)
  let path = dir.appendingPathComponent("config.json")
  var json = try JSONSerialization.jsonObject(with: Data(contentsOf: path)) as! [String: Any]
  edit(&json)
  try JSONSerialization.data(withJSONObject: json).write(to: path)
  return dir
}

@Test func malformedConfigsAreRefusedWithTheirPath() throws {
  let edits: [(String, (inout [String: Any]) -> Void)] = [
    ("no model_type", { $0["model_type"] = nil }),
    ("heads not dividing width", { $0["encoder_attention_heads"] = 5 }),
    ("positions not one window", { $0["max_source_positions"] = 1000 }),
    ("unsupported activation", { $0["activation_function"] = "relu" }),
    ("non-integer size", { $0["d_model"] = "wide" }),
    ("zero layers", { $0["encoder_layers"] = 0 }),
  ]
  for (label, edit) in edits {
    let dir = try withConfig("whisper-tiny", edit)
    defer { try? FileManager.default.removeItem(at: dir) }
    let error = #expect(throws: SpeechError.self, "\(label)") { try SpeechEncoder(directory: dir.path) }
    guard case .malformedConfig(let path, _) = error else {
      Issue.record("\(label): expected malformedConfig, got \(String(describing: error))")
      continue
    }
    #expect(path.hasSuffix("config.json"))
    #expect(error?.errorDescription?.contains(dir.lastPathComponent) == true)
  }
}

@Test func unknownModelTypesAndMissingFilesAreRefused() throws {
  let dir = try withConfig("whisper-tiny") { $0["model_type"] = "bert" }
  defer { try? FileManager.default.removeItem(at: dir) }
  #expect(throws: SpeechError.unsupportedModel(path: dir.appendingPathComponent("config.json").path, modelType: "bert")) {
    try SpeechEncoder(directory: dir.path)
  }
  let empty = try makeTemporaryDirectory()
  defer { try? FileManager.default.removeItem(at: empty) }
  let error = #expect(throws: SpeechError.self) { try SpeechEncoder(directory: empty.path) }
  guard case .malformedConfig = error else { Issue.record("got \(String(describing: error))"); return }
  try Data("{ not json".utf8).write(to: empty.appendingPathComponent("config.json"))
  #expect(throws: SpeechError.self) { try SpeechEncoder(directory: empty.path) }
}

@Test func preprocessorThatDisagreesIsRefused() throws {
  let dir = try copyOfModel("qwen2audio-tiny")
  defer { try? FileManager.default.removeItem(at: dir) }
  let path = dir.appendingPathComponent("preprocessor_config.json")
  var json = try JSONSerialization.jsonObject(with: Data(contentsOf: path)) as! [String: Any]
  json["feature_size"] = 80
  try JSONSerialization.data(withJSONObject: json).write(to: path)
  let error = #expect(throws: SpeechError.self) { try SpeechEncoder(directory: dir.path) }
  #expect(error?.errorDescription?.contains("feature_size is 80") == true)
}

@Test func qwen2AudioConfigSizesComeFromAudioConfigWithDefaults() throws {
  let dir = try withConfig("qwen2audio-tiny") { json in
    var audio = json["audio_config"] as! [String: Any]
    audio["num_mel_bins"] = nil  // Qwen2AudioEncoderConfig's default is 128
    json["audio_config"] = audio
  }
  defer { try? FileManager.default.removeItem(at: dir) }
  let config = try SpeechEncoderConfig(contentsOf: dir.appendingPathComponent("config.json").path)
  #expect(config == SpeechEncoderConfig(
    architecture: .qwen2Audio, melBins: 128, width: 20, layers: 2, heads: 5, feedForwardWidth: 40,
    positions: 1500))
}
