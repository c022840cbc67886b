import CLIP
import Core
import Foundation
import TestSupport
import Testing

// Strict loading: a checkpoint is rebuilt in a temporary directory from the small vision-only
// fixture with one thing broken, and loading must fail naming the file and the tensor.

/// The vision-only fixture's tensors (widened to float32) and its config.json text.
private func visionFixture() throws -> (arrays: [NamedArray], config: String) {
  let directory = EncoderFixtures.model(EncoderFixtures.visionOnlyModel)
  let file = try SafeTensorsFile(path: directory + "/model.safetensors")
  let arrays = try file.names.map { try file.array($0) }
  let config = try String(contentsOfFile: directory + "/config.json", encoding: .utf8)
  return (arrays, config)
}

/// A checkpoint directory holding `arrays` as model.safetensors and `config` as config.json.
private func writeCheckpoint(_ arrays: [NamedArray], config: String) throws -> URL {
  let directory = try makeTemporaryDirectory()
  try config.write(
    to: directory.appendingPathComponent("config.json"), atomically: true, encoding: .utf8)
  try writeSafeTensors(arrays, to: directory.appendingPathComponent("model.safetensors").path)
  return directory
}

/// Loads the vision tower from a copy of the fixture whose tensors `edit` changed, and returns
/// the weight error with the weight file's path.
private func weightError(editing edit: (inout [NamedArray]) -> Void) throws
  -> (error: WeightError, file: String)
{
  var (arrays, config) = try visionFixture()
  edit(&arrays)
  let directory = try writeCheckpoint(arrays, config: config)
  defer { try? FileManager.default.removeItem(at: directory) }
  let error = try #require(throws: WeightError.self) {
    try CLIPVisionEncoder.load(directory: directory.path)
  }
  let message = try #require(error.errorDescription)
  #expect(!message.contains("\n"), "one line: \(message)")
  return (error, directory.appendingPathComponent("model.safetensors").path)
}

@Test func loadingFailsOnAMissingTensor() throws {
  let (error, file) = try weightError { $0.removeAll { $0.name == "vision_model.post_layernorm.bias" } }
  #expect(error == .missingTensor(path: file, key: "vision_model.post_layernorm.bias"))
}

@Test func loadingFailsOnAWrongShape() throws {
  let (error, file) = try weightError { arrays in
    let index = arrays.firstIndex { $0.name == "visual_projection.weight" }!
    arrays[index] = NamedArray("visual_projection.weight", Tensor(repeating: 0, shape: [25, 48]))
  }
  #expect(
    error
      == .shapeMismatch(
        path: file, key: "visual_projection.weight", expected: [24, 48], actual: [25, 48]))
  #expect(error.errorDescription?.contains(file) == true)
}

@Test func loadingFailsOnAnUnusedTensor() throws {
  let (error, file) = try weightError { arrays in
    arrays.append(NamedArray("vision_model.encoder.layers.2.mlp.fc1.weight", Tensor(repeating: 0, shape: [96, 48])))
    // A text tensor in a vision-only checkpoint is as unexpected as an extra layer.
    arrays.append(NamedArray("text_projection.weight", Tensor(repeating: 0, shape: [24, 32])))
  }
  #expect(
    error
      == .unusedTensors(
        path: file,
        keys: ["text_projection.weight", "vision_model.encoder.layers.2.mlp.fc1.weight"]))
}

@Test func loadingSkipsTheIgnoredBuffers() throws {
  var (arrays, config) = try visionFixture()
  arrays.append(NamedArray("logit_scale", Tensor(repeating: 2.6592, shape: [])))
  arrays.append(
    NamedArray("vision_model.embeddings.position_ids", shape: [1, 17], values: .int64(Array(0..<17))))
  let directory = try writeCheckpoint(arrays, config: config)
  defer { try? FileManager.default.removeItem(at: directory) }
  let encoder = try CLIPVisionEncoder.load(directory: directory.path)
  let reference = try EncoderFixtures.reference(EncoderFixtures.visionOnlyModel)
  let output = try encoder.encode(pixels: try reference.tensor("vision.pixel_values"))
  try expectMatchesReference(
    try #require(output.embeds), reference, "vision.image_embeds", label: "with ignored buffers")
}

@Test func loadingFailsWhenTheConfigDisagreesWithTheWeights() throws {
  let (arrays, fixtureConfig) = try visionFixture()
  let config = fixtureConfig.replacingOccurrences(
    of: #""intermediate_size": 96"#, with: #""intermediate_size": 97"#)
  let directory = try writeCheckpoint(arrays, config: config)
  defer { try? FileManager.default.removeItem(at: directory) }
  let error = try #require(throws: WeightError.self) {
    try CLIPVisionEncoder.load(directory: directory.path)
  }
  #expect(
    error
      == .shapeMismatch(
        path: directory.appendingPathComponent("model.safetensors").path,
        key: "vision_model.encoder.layers.0.mlp.fc1.weight", expected: [97, 48], actual: [96, 48]))
}

@Test func loadingReadsAShardedCheckpoint() throws {
  let (arrays, config) = try visionFixture()
  let directory = try makeTemporaryDirectory()
  defer { try? FileManager.default.removeItem(at: directory) }
  try config.write(
    to: directory.appendingPathComponent("config.json"), atomically: true, encoding: .utf8)
  let shards = ["model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors"]
  let half = arrays.count / 2
  var weightMap: [String: String] = [:]
  for (shard, part) in zip(shards, [arrays[..<half], arrays[half...]]) {
    try writeSafeTensors(Array(part), to: directory.appendingPathComponent(shard).path)
    for array in part { weightMap[array.name] = shard }
  }
  let index = try JSONSerialization.data(withJSONObject: ["weight_map": weightMap])
  try index.write(to: directory.appendingPathComponent("model.safetensors.index.json"))

  let encoder = try CLIPVisionEncoder.load(directory: directory.path)
  let reference = try EncoderFixtures.reference(EncoderFixtures.visionOnlyModel)
  let output = try encoder.encode(pixels: try reference.tensor("vision.pixel_values"))
  try expectMatchesReference(try #require(output.embeds), reference, "vision.image_embeds", label: "sharded")
}

@Test func loadingFailsWithoutWeights() throws {
  let (_, config) = try visionFixture()
  let directory = try makeTemporaryDirectory()
  defer { try? FileManager.default.removeItem(at: directory) }
  try config.write(
    to: directory.appendingPathComponent("config.json"), atomically: true, encoding: .utf8)
  let error = try #require(throws: WeightError.self) {
    try CLIPVisionEncoder.load(directory: directory.path)
  }
  guard case .unreadable(let path, _) = error else {
    Issue.record("expected unreadable, got \(error)")
    return
  }
  #expect(path == directory.path)
  #expect(error.errorDescription?.contains("model.safetensors") == true)
}

@Test func loadingFailsWithoutConfig() throws {
  let directory = try makeTemporaryDirectory()
  defer { try? FileManager.default.removeItem(at: directory) }
  let path = directory.appendingPathComponent("config.json").path
  #expect(throws: CLIPError.missingFile(path: path)) {
    try CLIPModel.load(directory: directory.path)
  }
}

@Test func loadingRejectsATowerTheCheckpointLacks() throws {
  let visionOnly = EncoderFixtures.model(EncoderFixtures.visionOnlyModel)
  let textOnly = EncoderFixtures.model(EncoderFixtures.textOnlyModel)
  #expect(
    throws: CLIPError.missingTower(
      path: visionOnly + "/config.json", modelType: "clip_vision_model", tower: "text")
  ) { try CLIPModel.load(directory: visionOnly) }
  #expect(
    throws: CLIPError.missingTower(
      path: visionOnly + "/config.json", modelType: "clip_vision_model", tower: "text")
  ) { try CLIPTextEncoder.load(directory: visionOnly) }
  #expect(
    throws: CLIPError.missingTower(
      path: textOnly + "/config.json", modelType: "clip_text_model", tower: "vision")
  ) { try CLIPVisionEncoder.load(directory: textOnly) }
}

@Test func loadingWidensBFloat16Weights() throws {
  // The same values stored as bfloat16 and as float32 must give identical outputs.
  let (arrays, config) = try visionFixture()
  let rounded = arrays.map { array -> (name: String, shape: [Int], bits: [UInt16]) in
    guard case .float32(let values) = array.values else {
      preconditionFailure("\(array.name) is not float32")
    }
    return (array.name, array.shape, values.map(bfloat16Bits))
  }
  let widened = rounded.map { entry in
    NamedArray(
      entry.name,
      Tensor(shape: entry.shape, scalars: entry.bits.map { Float(bitPattern: UInt32($0) << 16) }))
  }
  let float32 = try writeCheckpoint(widened, config: config)
  defer { try? FileManager.default.removeItem(at: float32) }
  let bfloat16 = try makeTemporaryDirectory()
  defer { try? FileManager.default.removeItem(at: bfloat16) }
  try config.write(
    to: bfloat16.appendingPathComponent("config.json"), atomically: true, encoding: .utf8)
  let weights = bfloat16.appendingPathComponent("model.safetensors").path
  try writeBFloat16SafeTensors(rounded, to: weights)
  #expect(try SafeTensorsFile(path: weights).entries.values.allSatisfy { $0.dtype == "BF16" })

  let pixels = try EncoderFixtures.reference(EncoderFixtures.visionOnlyModel)
    .tensor("vision.pixel_values")
  let fromFloat32 = try CLIPVisionEncoder.load(directory: float32.path).encode(pixels: pixels)
  let fromBFloat16 = try CLIPVisionEncoder.load(directory: bfloat16.path).encode(pixels: pixels)
  #expect(fromBFloat16.lastHiddenState == fromFloat32.lastHiddenState)
  #expect(fromBFloat16.embeds == fromFloat32.embeds)
}

/// The bfloat16 nearest to `value` (ties to even), as bits.
private func bfloat16Bits(_ value: Float) -> UInt16 {
  let bits = value.bitPattern
  return UInt16((bits + 0x7FFF + ((bits >> 16) & 1)) >> 16)
}

/// A safetensors file of bfloat16 tensors (Core's writer has no bfloat16 output).
private func writeBFloat16SafeTensors(
  _ tensors: [(name: String, shape: [Int], bits: [UInt16])], to path: String
) throws {
  var header: [String: Any] = [:]
  var offset = 0
  for tensor in tensors {
    header[tensor.name] = [
      "dtype": "BF16", "shape": tensor.shape, "data_offsets": [offset, offset + 2 * tensor.bits.count],
    ]
    offset += 2 * tensor.bits.count
  }
  let json = try JSONSerialization.data(withJSONObject: header)
  var data = Data()
  withUnsafeBytes(of: UInt64(json.count).littleEndian) { data.append(contentsOf: $0) }
  data.append(json)
  for tensor in tensors {
    for bits in tensor.bits { withUnsafeBytes(of: bits.littleEndian) { data.append(contentsOf: $0) } }
  }
  try data.write(to: URL(fileURLWithPath: path))
}
