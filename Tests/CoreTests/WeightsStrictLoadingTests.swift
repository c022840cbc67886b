import Core
import Foundation
import TestSupport
import Testing

/// ``WeightReader``: a model asks for names and shapes; anything missing, misshapen or unused fails.
@Suite struct WeightsStrictLoadingTests {
  let directory: TemporaryDirectory
  let path: String
  let checkpoint: Checkpoint

  init() throws {
    directory = try TemporaryDirectory()
    path = directory.file("model.safetensors")
    func zeros(_ name: String, _ shape: [Int]) -> NamedArray {
      NamedArray(name, Tensor(repeating: 0, shape: shape))
    }
    try writeSafeTensors(
      [
        zeros("text.embed.weight", [4, 3]), zeros("text.layers.0.w", [3, 3]),
        zeros("text.layers.0.b", [3]),
        zeros("vision.proj", [2, 2]),
        NamedArray("text.position_ids", shape: [4], values: .int64([0, 1, 2, 3])),
      ], to: path)
    checkpoint = try Checkpoint(path: path)
  }

  @Test func scopedReadersJoinNamesWithDots() throws {
    let text = WeightReader(checkpoint, prefix: "text")
    let layer = text.scoped("layers").scoped("0")
    #expect(layer.prefix == "text.layers.0.")
    #expect(try layer("w", shape: [3, 3]).shape == [3, 3])
    #expect(layer.contains("b") && !layer.contains("bias"))
  }

  @Test func missingTensorNamesTheFullKey() {
    let reader = WeightReader(checkpoint).scoped("text")
    #expect(throws: WeightError.missingTensor(path: path, key: "text.nope")) {
      try reader("nope", shape: [1])
    }
  }

  @Test func wrongShapeNamesKeyAndBothShapes() {
    let reader = WeightReader(checkpoint, prefix: "text")
    let expected = WeightError.shapeMismatch(
      path: path, key: "text.embed.weight", expected: [3, 4], actual: [4, 3])
    #expect(throws: expected) { try reader("embed.weight", shape: [3, 4]) }
    #expect(
      expected.localizedDescription
        == "\(path): tensor 'text.embed.weight' has shape [4, 3], expected [3, 4]")
  }

  @Test func unusedTensorsUnderTheRootAreReported() throws {
    let text = WeightReader(checkpoint, prefix: "text")
    _ = try text("embed.weight", shape: [4, 3])
    _ = try text.scoped("layers.0")("w", shape: [3, 3])
    // vision.proj is outside the reader's prefix, so it is not this model's concern.
    #expect(
      throws: WeightError.unusedTensors(path: path, keys: ["text.layers.0.b", "text.position_ids"])
    ) {
      try text.verifyAllUsed()
    }
  }

  @Test func exemptPrefixesAreNotReported() throws {
    let text = WeightReader(checkpoint, prefix: "text")
    _ = try text("embed.weight", shape: [4, 3])
    _ = try text("layers.0.w", shape: [3, 3])
    _ = try text("layers.0.b", shape: [3])
    try text.verifyAllUsed(except: ["text.position_ids"])
    #expect(throws: WeightError.unusedTensors(path: path, keys: ["vision.proj"])) {
      try WeightReader(checkpoint).verifyAllUsed(except: ["text."])
    }
  }

  @Test func usesAreSharedAcrossScopes() throws {
    let root = WeightReader(checkpoint)
    _ = try root.scoped("vision")("proj", shape: [2, 2])
    _ = try root.scoped("text")("embed.weight", shape: [4, 3])
    _ = try root.scoped("text").scoped("layers").scoped("0")("w", shape: [3, 3])
    _ = try root.scoped("text").scoped("layers").scoped("0")("b", shape: [3])
    try root.verifyAllUsed(except: ["text.position_ids"])
  }

  @Test func integerTensorsAreNotFloatWeights() {
    let reader = WeightReader(checkpoint, prefix: "text")
    #expect(
      throws: WeightError.unsupportedDType(path: path, key: "text.position_ids", dtype: "I64")
    ) {
      try reader("position_ids", shape: [4])
    }
  }

  @Test func shardedCheckpointsLoadStrictlyToo() throws {
    let checkpoint = try Checkpoint(path: weightsFixture("sharded"))
    let head = WeightReader(checkpoint, prefix: "head")
    _ = try head("weight", shape: [2, 4])
    #expect(throws: WeightError.unusedTensors(path: checkpoint.path, keys: ["head.bias"])) {
      try head.verifyAllUsed()
    }
  }
}
