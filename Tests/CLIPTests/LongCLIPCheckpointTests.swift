import CLIP
import Core
import Foundation
import TestSupport
import Testing

// Reading Long-CLIP `.pt` checkpoints (spec A1, A4) and their name table, on the tiny checkpoint
// of fixtures/gen_longtext.py and its broken variants.

private func openCheckpoint(_ name: String) throws -> LongCLIPCheckpoint {
  try LongCLIPCheckpoint(
    path: Repository.fixture("torch/\(name).pt"), headWidth: LongTextFixtures.headWidth)
}

@Test func checkpointSizesComeFromTensorShapes() throws {
  let checkpoint = try openCheckpoint("longclip-tiny")
  let expected = try CLIPCheckpointConfig.load(
    directory: Repository.fixture("models/longclip-tiny"))
  // The Python conversion's config, apart from the token ids that the tokenizer sets.
  guard case .clip(let reference) = expected else { Issue.record("not a CLIPModel config"); return }
  #expect(checkpoint.config == reference)
  #expect(checkpoint.config.textConfig.maxPositionEmbeddings == 248)
  #expect(checkpoint.config.textConfig.numAttentionHeads == 2)
  #expect(checkpoint.config.visionConfig.numAttentionHeads == 3)
  #expect(checkpoint.config.visionConfig.imageSize == 32)
}

@Test func effectivePositionsTakeKeptRowsFromTheFrozenTable() throws {
  // Spec A4 / A8.2: rows 0..<20 of positional_embedding, rows 20... of positional_embedding_res.
  let checkpoint = try openCheckpoint("longclip-tiny")
  let reference = try LongTextFixtures.reference(LongTextFixtures.longCLIPModel)
  let frozen = try reference.tensor("positions.frozen")
  let trained = try reference.tensor("positions.residual")
  let effective = try checkpoint.effectivePositionTable()
  #expect(bitIdentical(effective, try reference.tensor("positions.effective")))
  #expect(bitIdentical(effective.rows(0..<20), frozen.rows(0..<20)))
  #expect(bitIdentical(effective.rows(20..<248), trained.rows(20..<248)))
  // The fixture decays the masked-out rows of positional_embedding_res, so using them would show.
  #expect(!bitIdentical(effective.rows(0..<20), trained.rows(0..<20)))
  // Spec C1: rows 20+ are trained, not the stretch of the frozen table.
  #expect(!bitIdentical(effective.rows(20..<248), frozen.rows(20..<248)))

  let report = checkpoint.positionReport
  #expect(report.keptRows == 20 && report.positions == 248)
  #expect(report.firstDifferingRow == 0 && report.trainedRowCount == 228)
  #expect(!report.isUntrained)
}

@Test func untrainedResidualTableIsReported() throws {
  let report = try openCheckpoint("longclip-untrained").positionReport
  #expect(report.isUntrained)
  #expect(report.firstDifferingRow == nil)
}

@Test func keptRowsMoveTheSplit() throws {
  let checkpoint = try LongCLIPCheckpoint(
    path: Repository.fixture("torch/longclip-tiny.pt"), headWidth: LongTextFixtures.headWidth,
    keptRows: 0)
  let trained = try LongTextFixtures.reference(LongTextFixtures.longCLIPModel).tensor("positions.residual")
  #expect(bitIdentical(try checkpoint.effectivePositionTable(), trained))
}

@Test func nameTableCoversEveryTensorOnce() throws {
  let table = try openCheckpoint("longclip-tiny").conversionTable
  let names = table.map(\.name)
  #expect(Set(names).count == names.count)
  let converted = try Checkpoint(path: Repository.fixture("models/longclip-tiny"))
  #expect(Set(names) == Set(converted.names))
  for entry in table { #expect(try converted.shape(of: entry.name) == entry.shape, "\(entry.name)") }
  // The projections are transposed and the fused attention split in three.
  #expect(table.first { $0.name == "text_projection.weight" }?.derivation == .transpose("text_projection"))
  #expect(
    table.first { $0.name == "vision_model.encoder.layers.1.self_attn.v_proj.bias" }?.derivation
      == .slice("visual.transformer.resblocks.1.attn.in_proj_bias", index: 2, count: 3))
}

@Test func convertedTensorsEqualThePythonConversionBitForBit() throws {
  let checkpoint = try openCheckpoint("longclip-tiny")
  let python = try Checkpoint(path: Repository.fixture("models/longclip-tiny"))
  for entry in checkpoint.conversionTable {
    #expect(bitIdentical(try checkpoint.tensor(entry), try python.tensor(entry.name)), "\(entry.name)")
  }
}

/// The state-dict shapes of the released longclip-L.pt (ViT-L/14 at 224 px, text 768 wide).
private func longCLIPLShapes() -> [String: [Int]] {
  var shapes: [String: [Int]] = [
    "positional_embedding": [248, 768], "positional_embedding_res": [248, 768],
    "text_projection": [768, 768], "logit_scale": [], "token_embedding.weight": [49408, 768],
    "ln_final.weight": [768], "ln_final.bias": [768],
    "visual.class_embedding": [1024], "visual.positional_embedding": [257, 1024],
    "visual.proj": [1024, 768], "visual.conv1.weight": [1024, 3, 14, 14],
    "visual.ln_pre.weight": [1024], "visual.ln_pre.bias": [1024],
    "visual.ln_post.weight": [1024], "visual.ln_post.bias": [1024],
  ]
  for (prefix, width, layers) in [("transformer", 768, 12), ("visual.transformer", 1024, 24)] {
    for i in 0..<layers {
      let p = "\(prefix).resblocks.\(i)."
      shapes[p + "attn.in_proj_weight"] = [3 * width, width]
      shapes[p + "attn.in_proj_bias"] = [3 * width]
      shapes[p + "attn.out_proj.weight"] = [width, width]
      shapes[p + "attn.out_proj.bias"] = [width]
      shapes[p + "mlp.c_fc.weight"] = [4 * width, width]
      shapes[p + "mlp.c_fc.bias"] = [4 * width]
      shapes[p + "mlp.c_proj.weight"] = [width, 4 * width]
      shapes[p + "mlp.c_proj.bias"] = [width]
      for norm in ["ln_1", "ln_2"] {
        shapes[p + norm + ".weight"] = [width]
        shapes[p + norm + ".bias"] = [width]
      }
    }
  }
  return shapes
}

@Test func releasedLongCLIPLShapesGiveOpenAIsSizes() throws {
  let (config, table) = try LongCLIPCheckpoint.plan(
    shapes: longCLIPLShapes(), path: "longclip-L.pt", headWidth: LongCLIPCheckpoint.openAIHeadWidth,
    keptRows: PositionStretch.defaultKeptRows)
  let text = config.textConfig
  let vision = config.visionConfig
  let textSizes: [Int] = [text.hiddenSize, text.numAttentionHeads, text.numHiddenLayers, text.intermediateSize]
  #expect(textSizes == [768, 12, 12, 3072])
  #expect(text.maxPositionEmbeddings == 248 && text.vocabSize == 49408 && text.hiddenAct == .quickGelu)
  let visionSizes: [Int] = [vision.hiddenSize, vision.numAttentionHeads, vision.numHiddenLayers, vision.intermediateSize]
  #expect(visionSizes == [1024, 16, 24, 4096])
  #expect(vision.imageSize == 224 && vision.patchSize == 14 && config.projectionDim == 768)
  #expect(table.count == 6 + 16 * 12 + 8 + 16 * 24)
}

@Test func oddCheckpointShapesAreNamedInTheError() throws {
  var shapes = longCLIPLShapes()
  shapes["visual.positional_embedding"] = [250, 1024]
  #expect(throws: LongCLIPError.self) {
    try LongCLIPCheckpoint.plan(shapes: shapes, path: "x.pt", headWidth: 64, keptRows: 20)
  }
  #expect(throws: LongCLIPError.self) {
    try LongCLIPCheckpoint.plan(shapes: longCLIPLShapes(), path: "x.pt", headWidth: 100, keptRows: 20)
  }
  #expect(throws: LongCLIPError.self) {
    try LongCLIPCheckpoint.plan(shapes: longCLIPLShapes(), path: "x.pt", headWidth: 64, keptRows: 249)
  }
  shapes = longCLIPLShapes()
  shapes["visual.proj"] = [1024, 512]
  #expect(throws: LongCLIPError.self) {
    try LongCLIPCheckpoint.plan(shapes: shapes, path: "x.pt", headWidth: 64, keptRows: 20)
  }
  shapes = longCLIPLShapes()
  shapes["transformer.resblocks.5.ln_2.bias"] = nil
  #expect(throws: WeightError.missingTensor(path: "x.pt", key: "transformer.resblocks.5.ln_2.bias")) {
    try LongCLIPCheckpoint.plan(shapes: shapes, path: "x.pt", headWidth: 64, keptRows: 20)
  }
}

@Test func brokenCheckpointsFailWithOneLineNamingTheFile() throws {
  func failure(_ name: String) -> Error? {
    do {
      _ = try openCheckpoint(name)
      return nil
    } catch { return error }
  }
  let path = { (name: String) in Repository.fixture("torch/\(name).pt") }
  #expect(failure("longclip-no-res") as? LongCLIPError == .missingTrainedPositions(path: path("longclip-no-res")))
  #expect(
    failure("longclip-res-shape") as? WeightError
      == .shapeMismatch(path: path("longclip-res-shape"), key: "positional_embedding_res", expected: [248, 8], actual: [247, 8]))
  #expect(
    failure("longclip-bad-qkv") as? WeightError
      == .shapeMismatch(
        path: path("longclip-bad-qkv"), key: "transformer.resblocks.1.attn.in_proj_weight", expected: [24, 8],
        actual: [16, 8]))
  #expect(
    failure("longclip-unused") as? WeightError
      == .unusedTensors(path: path("longclip-unused"), keys: ["transformer.resblocks.0.attn.bias_k"]))
  guard case .unsupported? = failure("longclip-resnet") as? LongCLIPError else {
    Issue.record("a ResNet tower must be refused as unsupported")
    return
  }
  for name in ["longclip-no-res", "longclip-res-shape", "longclip-bad-qkv", "longclip-unused", "longclip-resnet"] {
    let message = failure(name)?.localizedDescription ?? ""
    #expect(message.contains(path(name)) && !message.contains("\n"), "\(message)")
  }
}

@Test func truncatedArchiveIsRejected() throws {
  let directory = try makeTemporaryDirectory()
  defer { try? FileManager.default.removeItem(at: directory) }
  let whole = try Data(contentsOf: URL(fileURLWithPath: Repository.fixture(LongTextFixtures.longCLIPCheckpoint)))
  let cut = directory.appendingPathComponent("cut.pt")
  try whole.prefix(whole.count / 2).write(to: cut)
  #expect(throws: WeightError.self) { try LongCLIPCheckpoint(path: cut.path, headWidth: 4) }
}
