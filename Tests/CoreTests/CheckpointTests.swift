import Core
import Foundation
import TestSupport
import Testing

/// Sharded checkpoints as `huggingface_hub.save_torch_state_dict` writes them
/// (fixtures/weights/sharded: shard 1 holds encoder.layers.0.*, shard 2 encoder.layers.1.weight
/// and head.weight, shard 3 head.bias).
@Suite struct CheckpointTests {
  let directory: TemporaryDirectory
  let model: String

  init() throws {
    directory = try TemporaryDirectory()
    model = directory.file("model")
    try FileManager.default.copyItem(atPath: weightsFixture("sharded"), toPath: model)
  }

  func shard(_ n: Int) -> String { model + "/model-0000\(n)-of-00003.safetensors" }
  var index: String { model + "/model.safetensors.index.json" }

  @Test func readsEveryTensorFromItsShard() throws {
    let checkpoint = try Checkpoint(path: model)
    #expect(checkpoint.path == index)
    #expect(
      checkpoint.names == [
        "encoder.layers.0.bias", "encoder.layers.0.weight", "encoder.layers.1.weight", "head.bias",
        "head.weight",
      ])
    #expect(checkpoint.files == [index, shard(1), shard(2), shard(3)])
    for (name, n) in [("encoder.layers.0.weight", 1), ("head.weight", 2), ("head.bias", 3)] {
      #expect(try checkpoint.tensor(name) == SafeTensorsFile(path: shard(n)).tensor(name))
    }
    #expect(try checkpoint.shape(of: "encoder.layers.1.weight") == [4, 4])
  }

  /// Opening a shard validates all of it, so a corrupt shard that is never opened proves that
  /// only the shards holding requested tensors are touched.
  @Test func corruptUnrelatedShardDoesNotBreakLoading() throws {
    try Data("not a safetensors file".utf8).write(to: URL(fileURLWithPath: shard(1)))
    let checkpoint = try Checkpoint(path: model)
    #expect(try checkpoint.tensor("head.weight").shape == [2, 4])
    #expect(try checkpoint.tensor("head.bias").shape == [2])
    #expect {
      try checkpoint.tensor("encoder.layers.0.weight")
    } throws: { error in
      guard case WeightError.invalidSafeTensors(let path, _) = error else { return false }
      return path == shard(1)
    }
  }

  @Test func missingUnrelatedShardDoesNotBreakLoading() throws {
    try FileManager.default.removeItem(atPath: shard(2))
    let checkpoint = try Checkpoint(path: model)
    #expect(try checkpoint.tensor("head.bias").shape == [2])
    #expect(throws: WeightError.unreadable(path: shard(2), reason: "No such file or directory")) {
      try checkpoint.tensor("head.weight")
    }
  }

  @Test func tensorListedInTheIndexButAbsentFromItsShard() throws {
    var json = try String(contentsOfFile: index, encoding: .utf8)
    json = json.replacingOccurrences(
      of: #""head.bias": "model-00003"#, with: #""head.bias": "model-00001"#)
    try json.write(toFile: index, atomically: true, encoding: .utf8)
    #expect {
      try Checkpoint(path: model).tensor("head.bias")
    } throws: { error in
      guard case WeightError.malformed(let path, let reason) = error else { return false }
      return path == shard(1) && reason.contains("head.bias")
    }
  }

  @Test(arguments: [
    ("{not json", "index is not valid JSON"),
    (#"{"metadata": {}}"#, "index has no weight_map object"),
    (#"{"weight_map": ["a"]}"#, "index has no weight_map object"),
    (#"{"weight_map": {"a": 3}}"#, "weight_map entry 'a' is not a file name"),
    (
      #"{"weight_map": {"a": "../outside.safetensors"}}"#,
      "shard '../outside.safetensors' of 'a' is not a plain file name"
    ),
    (
      #"{"weight_map": {"a": "sub/x.safetensors"}}"#,
      "shard 'sub/x.safetensors' of 'a' is not a plain file name"
    ),
    (#"{"weight_map": {}}"#, "weight_map lists no tensors"),
  ])
  func malformedIndex(text: String, reason: String) throws {
    try text.write(toFile: index, atomically: true, encoding: .utf8)
    #expect(throws: WeightError.malformed(path: index, reason: reason)) {
      try Checkpoint(path: model)
    }
  }

  @Test func missingTensorNamesTheIndex() throws {
    #expect(throws: WeightError.missingTensor(path: index, key: "nope")) {
      try Checkpoint(path: model).tensor("nope")
    }
  }

  @Test func singleFileWinsOverIndexInADirectory() throws {
    try writeSafeTensors(
      [NamedArray("only", Tensor(shape: [1], scalars: [5]))], to: model + "/model.safetensors")
    let checkpoint = try Checkpoint(path: model)
    #expect(checkpoint.names == ["only"])
    #expect(checkpoint.files == [model + "/model.safetensors"])
  }

  @Test func directoryWithoutWeights() throws {
    let empty = directory.file("empty")
    try FileManager.default.createDirectory(atPath: empty, withIntermediateDirectories: false)
    #expect(
      throws: WeightError.unreadable(
        path: empty, reason: "no model.safetensors or model.safetensors.index.json in directory")
    ) { try Checkpoint(path: empty) }
  }

  @Test func missingPath() {
    let path = directory.file("nothing.safetensors")
    #expect(throws: WeightError.unreadable(path: path, reason: "No such file or directory")) {
      try Checkpoint(path: path)
    }
  }
}
