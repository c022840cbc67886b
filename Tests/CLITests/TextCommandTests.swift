import Core
import Foundation
import TestSupport
import Testing

// `mmencode text` from raw text against transformers (fixtures/gen_longtext.py), in every mode.

private let models = ["clip-tiny-a", "clip-tiny-b"]

@Test(arguments: models)
func textClipModeMatchesTransformers(model: String) throws {
  try withTemporaryDirectory { directory in
    let out = directory + "/out.safetensors"
    let texts = try TextFixtures.texts("clip")
    try TextFixtures.run(["text"] + texts + ["-m", Repository.fixture("models/\(model)"), "-o", out, "--hidden", "--batch-size", "2"])
    let output = try SafeTensorsFile(path: out)
    let reference = try TextFixtures.reference(model)
    for name in ["text_embeds", "pooler_output", "last_hidden_state"] {
      try expectOutput(output, name, matches: reference, "clip.\(name)")
    }
    try expectIDs(output, "input_ids", equal: reference, "clip.input_ids")
    #expect(output.metadata["text.mode"] == "clip")
    #expect(output.metadata["model.sha256"]?.count == 64)
    #expect(output.metadata["text.attention_mask"] == "none")
  }
}

@Test func textClipModeOptionsMatchTheirReferences() throws {
  // --mask-padding (transformers' model(**inputs)), --pad zero, --truncate, --file, npy output.
  let model = "clip-tiny-b"
  let reference = try TextFixtures.reference(model)
  try withTemporaryDirectory { directory in
    let texts = try TextFixtures.texts("clip")
    let file = directory + "/texts.txt"
    try Data((texts.joined(separator: "\r\n") + "\n").utf8).write(to: URL(fileURLWithPath: file))
    let common = ["-m", Repository.fixture("models/\(model)"), "--hidden"]
    try TextFixtures.run(["text", "--file", file, "--mask-padding", "-o", directory + "/masked.safetensors"] + common)
    try TextFixtures.run(["text", "--file", file, "--pad", "zero", "-o", directory + "/zero"] + common + ["--format", "npy"])
    let tooLong = try TextFixtures.texts("clip_too_long")
    try TextFixtures.run(["text"] + tooLong + ["--truncate", "-o", directory + "/truncated.safetensors"] + common)

    let masked = try SafeTensorsFile(path: directory + "/masked.safetensors")
    try expectOutput(masked, "last_hidden_state", matches: reference, "clip_masked.last_hidden_state")
    try expectOutput(masked, "text_embeds", matches: reference, "clip_masked.text_embeds")
    let zero = try readNPYOutput(directory + "/zero")
    let zeroHidden = try #require(zero.arrays.first { $0.name == "last_hidden_state" }?.tensor)
    let expected = try reference.tensor("clip_zero.last_hidden_state")
    let difference = maxAbsDifference(zeroHidden, expected)
    #expect(zeroHidden.shape == expected.shape && difference <= TextFixtures.tolerance, "pad zero: \(difference)")
    #expect(zero.arrays.first { $0.name == "input_ids" } == (try reference.array("clip_zero.input_ids")).renamed("input_ids"))
    #expect(zero.metadata["text.padding"] == "zero")
    let truncated = try SafeTensorsFile(path: directory + "/truncated.safetensors")
    try expectOutput(truncated, "last_hidden_state", matches: reference, "clip_truncated.last_hidden_state")
    try expectIDs(truncated, "input_ids", equal: reference, "clip_truncated.input_ids")
    #expect(truncated.metadata["text.dropped_tokens"] == "[52]")
  }
}

@Test func textNormalizeScalesEmbedsToUnitLength() throws {
  try withTemporaryDirectory { directory in
    let out = directory + "/out.safetensors"
    try TextFixtures.run(["text", "a photo of a cat", "", "-m", Repository.fixture("models/clip-tiny-a"), "-o", out, "--normalize"])
    let embeds = try SafeTensorsFile(path: out).tensor("text_embeds")
    let expected = try TextFixtures.reference("clip-tiny-a").tensor("clip.text_embeds")
    let width = embeds.shape[1]
    for row in 0..<2 {
      let reference = Array(expected.scalars[(row * width)..<((row + 1) * width)])
      let norm = reference.reduce(0) { $0 + $1 * $1 }.squareRoot()
      let actual = Array(embeds.scalars[(row * width)..<((row + 1) * width)])
      #expect(zip(actual, reference).allSatisfy { abs($0 - $1 / norm) <= 1e-5 }, "row \(row)")
    }
  }
}

@Test func textLongClipModeOnTheConvertedCheckpoint() throws {
  let reference = try TextFixtures.reference("longclip-tiny")
  try withTemporaryDirectory { directory in
    let texts = try TextFixtures.texts("long_clip")
    let model = Repository.fixture("models/longclip-tiny")
    try TextFixtures.run(["text", "--mode", "long-clip"] + texts + ["-m", model, "-o", directory + "/eot.safetensors", "--hidden"])
    try TextFixtures.run(["text", "--mode", "long-clip", "--pad", "zero"] + texts + ["-m", model, "-o", directory + "/zero.safetensors", "--hidden"])
    for (file, group) in [("eot", "long_clip"), ("zero", "long_clip_zero")] {
      let output = try SafeTensorsFile(path: "\(directory)/\(file).safetensors")
      for name in ["text_embeds", "pooler_output", "last_hidden_state"] {
        try expectOutput(output, name, matches: reference, "\(group).\(name)")
      }
      try expectIDs(output, "input_ids", equal: reference, "\(group).input_ids")
      #expect(output.metadata["text.context_length"] == "248")
    }
    // A 300-token text: an error naming the count, or the first 246 tokens with --truncate.
    let tooLong = try TextFixtures.texts("long_clip_too_long")
    try TextFixtures.fail(
      ["text", "--mode", "long-clip"] + tooLong + ["-m", model, "-o", directory + "/x.safetensors"],
      mentioning: ["text 1", "302 tokens", "248", "--truncate"])
    #expect(!FileManager.default.fileExists(atPath: directory + "/x.safetensors"))
    try TextFixtures.run(["text", "--mode", "long-clip", "--truncate"] + tooLong + ["-m", model, "-o", directory + "/cut.safetensors"])
    let cut = try SafeTensorsFile(path: directory + "/cut.safetensors")
    try expectOutput(cut, "text_embeds", matches: reference, "long_clip_truncated.text_embeds")
    try expectIDs(cut, "input_ids", equal: reference, "long_clip_truncated.input_ids")
  }
}

@Test func textLongClipModeNeedsALongTable() throws {
  try withTemporaryDirectory { directory in
    let model = Repository.fixture("models/clip-tiny-a")
    try TextFixtures.fail(
      ["text", "--mode", "long-clip", "a cat", "-m", model, "-o", directory + "/x.safetensors"],
      mentioning: ["77 positions", "--stretch", "mmencode convert"])
    // With --stretch: the stretched table, 248 positions, on the long texts.
    let texts = try TextFixtures.texts("long_clip")
    let out = directory + "/stretched.safetensors"
    try TextFixtures.run(["text", "--mode", "long-clip", "--stretch"] + texts + ["-m", model, "-o", out, "--hidden"])
    let output = try SafeTensorsFile(path: out)
    let reference = try TextFixtures.reference("clip-tiny-a")
    for name in ["text_embeds", "pooler_output", "last_hidden_state"] {
      try expectOutput(output, name, matches: reference, "stretch.\(name)")
    }
    try expectIDs(output, "input_ids", equal: reference, "stretch.input_ids")
    #expect(output.metadata["text.stretch.kept_rows"] == "20" && output.metadata["text.stretch.ratio"] == "4")
  }
}

@Test(arguments: [("clip-tiny-a", "segments", nil), ("clip-tiny-b", "segments", nil), ("clip-tiny-a", "segments_few", "32")])
func textSegmentsModeMatchesThePythonReference(model: String, group: String, rows: String?) throws {
  let reference = try TextFixtures.reference(model)
  try withTemporaryDirectory { directory in
    let paragraphs = try TextFixtures.texts("paragraphs")
    let out = directory + "/out.safetensors"
    try TextFixtures.run(
      ["text", "--mode", "segments"] + paragraphs + ["-m", Repository.fixture("models/\(model)"), "-o", out, "--batch-size", "7"]
        + (rows.map { ["--rows", $0] } ?? []))
    let output = try SafeTensorsFile(path: out)
    try expectOutput(output, "last_hidden_state", matches: reference, "\(group).last_hidden_state")
    try expectOutput(output, "text_embeds", matches: reference, "\(group).text_embeds")
    try expectIDs(output, "segment_ids", equal: reference, "\(group).segment_ids")
    let segments = try JSONDecoder().decode([[String]].self, from: Data(try #require(output.metadata["text.segments"]).utf8))
    let expected = try JSONDecoder().decode([[String]].self, from: Data(try #require(reference.metadata["\(group).segments"]).utf8))
    #expect(segments == expected)
    #expect(output.metadata["text.segment_mode"] == "faithful")
  }
}

@Test func textSegmentsCleanModeWritesWholeSentences() throws {
  try withTemporaryDirectory { directory in
    let out = directory + "/out.safetensors"
    try TextFixtures.run([
      "text", "--mode", "segments", "--segment-mode", "clean", "--rows", "64",
      "Pi is 3.14. Dr. Smith agrees!", "-m", Repository.fixture("models/clip-tiny-a"), "-o", out,
    ])
    let output = try SafeTensorsFile(path: out)
    #expect(output.metadata["text.segments"] == #"[["Pi is 3.14. Dr. Smith agrees!"]]"#)
    #expect(try output.tensor("last_hidden_state").shape == [1, 64, 32])
  }
}

@Test func textErrorsAreOneLineNamingTheFile() throws {
  try withTemporaryDirectory { directory in
    let source = Repository.fixture("models/clip-tiny-a")
    func model(_ name: String, except skipped: String, config: String? = nil, weights: String? = nil) throws -> String {
      let path = "\(directory)/\(name)"
      try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
      for file in ["config.json", "model.safetensors", "vocab.json", "merges.txt"] where file != skipped {
        let origin = file == "model.safetensors" ? (weights ?? "\(source)/\(file)") : "\(source)/\(file)"
        try FileManager.default.createSymbolicLink(atPath: "\(path)/\(file)", withDestinationPath: origin)
      }
      if let config { try Data(config.utf8).write(to: URL(fileURLWithPath: "\(path)/config.json")) }
      return path
    }
    let out = directory + "/out.safetensors"
    let noVocab = try model("no-vocab", except: "vocab.json")
    try TextFixtures.fail(["text", "a cat", "-m", noVocab, "-o", out], mentioning: ["\(noVocab)/vocab.json"])
    let noMerges = try model("no-merges", except: "merges.txt")
    try TextFixtures.fail(["text", "a cat", "-m", noMerges, "-o", out], mentioning: ["\(noMerges)/merges.txt"])
    let badConfig = try model("bad-config", except: "config.json", config: #"{"model_type": "clip", "text_config": {"hidden_size": 30, "num_attention_heads": 4}}"#)
    try TextFixtures.fail(["text", "a cat", "-m", badConfig, "-o", out], mentioning: ["\(badConfig)/config.json", "num_attention_heads"])
    let wrongShapes = try model("wrong-shapes", except: "", weights: Repository.fixture("models/clip-tiny-b/model.safetensors"))
    try TextFixtures.fail(["text", "a cat", "-m", wrongShapes, "-o", out], mentioning: ["\(wrongShapes)/model.safetensors", "shape"])
    try TextFixtures.fail(["text", "--file", directory + "/none.txt", "-m", source, "-o", out], mentioning: ["none.txt"])
    #expect(!FileManager.default.fileExists(atPath: out))
  }
}

@Test func textRejectsOptionsOfOtherModes() throws {
  let model = Repository.fixture("models/clip-tiny-a")
  for arguments in [
    ["text", "--mode", "segments", "--truncate", "a", "-m", model, "-o", "/tmp/unused.safetensors"],
    ["text", "--rows", "10", "a", "-m", model, "-o", "/tmp/unused.safetensors"],
    ["text", "--stretch-keep", "10", "a", "-m", model, "-o", "/tmp/unused.safetensors"],
    ["text", "-m", model, "-o", "/tmp/unused.safetensors"],
    ["text", "a", "-m", model],
  ] {
    let result = try CLI.run(arguments)
    #expect(result.status != 0, "\(arguments)")
    #expect(result.stderr.contains("Error"), "\(arguments): \(result.stderr)")
  }
}

extension NamedArray {
  fileprivate func renamed(_ name: String) -> NamedArray { NamedArray(name, shape: shape, values: values) }
}
