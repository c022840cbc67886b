import Core
import Foundation
import Speech
import TestSupport
import Testing

/// Spec 7.10 and the head's shape checks.

@Test func densitiesAreNonBlankProbabilities() throws {
  let head = try CTCDensityHead(path: Fixtures.model("ctc-head-d8"))
  #expect(head.width == 8 && head.classes == 11 && head.blankIndex == 10)
  var rng = SeededGenerator(seed: 8)
  let frames = rng.tensor([2500, 8])  // more than one 2000-frame chunk
  let d = try head.density(of: frames)
  #expect(d.count == 2500 && d.allSatisfy { $0 >= 0 && $0 <= 1 })
  #expect(d.max()! - d.min()! > 0.3, "the fixture head should make densities vary")
  // d = 1 - softmax(logits)[last]: the blank is the last class.
  let logits = head.logits(of: frames)
  for r in [0, 1999, 2000, 2499] {
    let row = Array(logits.scalars[(r * 11)..<((r + 1) * 11)]).map(Double.init)
    let m = row.max()!
    let p = row.map { exp($0 - m) }
    #expect(abs(Double(d[r]) - (1 - p[10] / p.reduce(0, +))) < 1e-6)
  }
}

/// The folded single matrix against the two linears applied in turn (Core ops on the file's
/// tensors). Tolerance 1e-5: the fold reassociates an fp32 sum of 16 products per logit.
@Test func foldedHeadEqualsTwoLinears() throws {
  for name in ["ctc-head-d8", "ctc-head-qwen2audio-tiny"] {
    let path = Fixtures.model(name)
    let head = try CTCDensityHead(path: path)
    let file = try SafeTensorsFile(path: path + "/model.safetensors")
    var rng = SeededGenerator(seed: 9)
    let frames = rng.tensor([64, head.width])
    let normed = layerNorm(
      frames, weight: try file.tensor("audio_tower.layer_norm.weight"),
      bias: try file.tensor("audio_tower.layer_norm.bias"), eps: 1e-5)
    let hidden = linear(
      normed, weight: try file.tensor("ctc_decoder.projector.weight"),
      bias: try file.tensor("ctc_decoder.projector.bias"))
    let twoLinear = linear(hidden, weight: try file.tensor("ctc_decoder.linear.weight"))
    expectClose(head.logits(of: frames), twoLinear, tolerance: 1e-5, name)
  }
}

/// A head file whose tensors are replaced by `edit`.
private func headFile(_ edit: (inout [String: Tensor]) -> Void) throws -> URL {
  let dir = try makeTemporaryDirectory()
  let file = try SafeTensorsFile(path: Fixtures.model("ctc-head-d8") + "/model.safetensors")
  var tensors = Dictionary(uniqueKeysWithValues: try file.names.map { ($0, try file.tensor($0)) })
  edit(&tensors)
  try writeSafeTensors(
    tensors.keys.sorted().map { NamedArray($0, tensors[$0]!) },
    to: dir.appendingPathComponent("model.safetensors").path)
  return dir
}

@Test func headsThatDoNotFitAreRefused() throws {
  // A head made for width 8 on the width-20 Qwen2-Audio tower.
  let head = try CTCDensityHead(path: Fixtures.model("ctc-head-d8"))
  let encoder = try SpeechEncoder(directory: Fixtures.model("qwen2audio-tiny"))
  let error = #expect(throws: SpeechError.self) {
    try encoder.fuse(SpeechFrames(frames: Tensor(repeating: 1, shape: [800, 20]), windowCount: 2, sampleCount: 0, framesPerSecond: 25), head: head)
  }
  #expect(error?.errorDescription?.contains("ctc-head-d8") == true)
  #expect(error?.errorDescription?.contains("takes 8-wide frames but the encoder gives 20") == true)
  #expect(throws: SpeechError.self) { try head.density(of: Tensor(repeating: 1, shape: [3, 20])) }

  let broken: [(String, (inout [String: Tensor]) -> Void)] = [
    ("LayerNorm width", { $0["audio_tower.layer_norm.weight"] = Tensor(repeating: 1, shape: [9]); $0["audio_tower.layer_norm.bias"] = Tensor(repeating: 0, shape: [9]) }),
    ("linear inputs", { $0["ctc_decoder.linear.weight"] = Tensor(repeating: 1, shape: [11, 15]) }),
    ("one class", { $0["ctc_decoder.linear.weight"] = Tensor(repeating: 1, shape: [1, 16]) }),
    ("3-D projector", { $0["ctc_decoder.projector.weight"] = Tensor(repeating: 1, shape: [16, 8, 1]) }),
  ]
  for (label, edit) in broken {
    let dir = try headFile(edit)
    defer { try? FileManager.default.removeItem(at: dir) }
    let error = #expect(throws: SpeechError.self, "\(label)") { try CTCDensityHead(path: dir.path) }
    guard case .headMismatch(let path, _) = error else { Issue.record("\(label): \(String(describing: error))"); continue }
    #expect(path.hasSuffix("model.safetensors"))
  }
  // Wrong bias length, a missing tensor and an unknown ctc_decoder tensor are weight errors.
  let wrongBias = try headFile { $0["ctc_decoder.projector.bias"] = Tensor(repeating: 0, shape: [15]) }
  defer { try? FileManager.default.removeItem(at: wrongBias) }
  #expect(throws: WeightError.self) { try CTCDensityHead(path: wrongBias.path) }
  let missing = try headFile { $0["ctc_decoder.linear.weight"] = nil }
  defer { try? FileManager.default.removeItem(at: missing) }
  #expect(throws: WeightError.self) { try CTCDensityHead(path: missing.path) }
  let extra = try headFile { $0["ctc_decoder.linear.bias"] = Tensor(repeating: 0, shape: [11]) }
  defer { try? FileManager.default.removeItem(at: extra) }
  #expect(throws: WeightError.self) { try CTCDensityHead(path: extra.path) }
}

/// The head can come from a sharded checkpoint holding a whole model (as FastLongSpeech ships it).
@Test func headLoadsFromAShardedCheckpoint() throws {
  let dir = try makeTemporaryDirectory()
  defer { try? FileManager.default.removeItem(at: dir) }
  let file = try SafeTensorsFile(path: Fixtures.model("ctc-head-qwen2audio-tiny") + "/model.safetensors")
  let head = try file.names.filter { $0.hasPrefix("ctc_decoder.") }.map { NamedArray($0, try file.tensor($0)) }
  let norm = try file.names.filter { !$0.hasPrefix("ctc_decoder.") }.map { NamedArray($0, try file.tensor($0)) }
  try writeSafeTensors(head + [NamedArray("language_model.lm_head.weight", Tensor(repeating: 0, shape: [4, 4]))], to: dir.appendingPathComponent("a.safetensors").path)
  try writeSafeTensors(norm + [NamedArray("audio_tower.conv1.bias", Tensor(repeating: 0, shape: [20]))], to: dir.appendingPathComponent("b.safetensors").path)
  var map: [String: String] = [:]
  for a in head { map[a.name] = "a.safetensors" }
  for a in norm { map[a.name] = "b.safetensors" }
  map["language_model.lm_head.weight"] = "a.safetensors"
  map["audio_tower.conv1.bias"] = "b.safetensors"
  try JSONSerialization.data(withJSONObject: ["weight_map": map]).write(to: dir.appendingPathComponent("model.safetensors.index.json"))
  let sharded = try CTCDensityHead(path: dir.path)
  let single = try CTCDensityHead(path: Fixtures.model("ctc-head-qwen2audio-tiny"))
  var rng = SeededGenerator(seed: 10)
  let frames = rng.tensor([5, 20])
  #expect(try sharded.density(of: frames) == single.density(of: frames))
}
