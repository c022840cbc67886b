import Core
import Foundation
import TestSupport
import Testing

// `mmencode convert` on the tiny Long-CLIP .pt of fixtures/gen_longtext.py, end to end: the .pt
// becomes a directory equal to the generator's own conversion, which `mmencode text` then
// encodes as transformers does.

private let checkpoint = Repository.fixture("torch/longclip-tiny.pt")
/// The tiny towers' heads are 4 wide (released checkpoints use the default 64).
private let tinyHeads = ["--head-width", "4"]
private let tokenizer = ["--tokenizer", Repository.fixture("tokenizer")]

@Test func convertThenEncodeMatchesTransformers() throws {
  try withTemporaryDirectory { directory in
    let converted = directory + "/longclip"
    let result = try TextFixtures.run(["convert", checkpoint, "-o", converted] + tinyHeads + tokenizer)
    #expect(result.stdout.contains("248 positions"), "\(result.stdout)")
    #expect(result.stderr.isEmpty, "\(result.stderr)")
    let ours = try SafeTensorsFile(path: converted + "/model.safetensors")
    let theirs = try SafeTensorsFile(path: Repository.fixture("models/longclip-tiny/model.safetensors"))
    #expect(ours.names == theirs.names)
    for name in theirs.names {
      let (a, b) = (try ours.tensor(name), try theirs.tensor(name))
      #expect(a.shape == b.shape && zip(a.scalars, b.scalars).allSatisfy { $0.bitPattern == $1.bitPattern }, "\(name)")
    }
    let out = directory + "/out.safetensors"
    try TextFixtures.run(["text", "--mode", "long-clip", "--hidden"] + (try TextFixtures.texts("long_clip")) + ["-m", converted, "-o", out])
    let output = try SafeTensorsFile(path: out)
    let reference = try TextFixtures.reference("longclip-tiny")
    for name in ["text_embeds", "pooler_output", "last_hidden_state"] {
      try expectOutput(output, name, matches: reference, "long_clip.\(name)")
    }
    try expectIDs(output, "input_ids", equal: reference, "long_clip.input_ids")
  }
}

@Test func convertRefusesBrokenCheckpointsWithOneLine() throws {
  try withTemporaryDirectory { directory in
    let out = directory + "/out"
    let noRes = Repository.fixture("torch/longclip-no-res.pt")
    try TextFixtures.fail(["convert", noRes, "-o", out] + tinyHeads + tokenizer, mentioning: [noRes, "positional_embedding_res"])
    let badQKV = Repository.fixture("torch/longclip-bad-qkv.pt")
    try TextFixtures.fail(
      ["convert", badQKV, "-o", out] + tinyHeads + tokenizer,
      mentioning: [badQKV, "transformer.resblocks.1.attn.in_proj_weight", "[16, 8]"])
    let truncated = directory + "/truncated.pt"
    let whole = try Data(contentsOf: URL(fileURLWithPath: checkpoint))
    try whole.prefix(whole.count - 100).write(to: URL(fileURLWithPath: truncated))
    try TextFixtures.fail(["convert", truncated, "-o", out] + tinyHeads + tokenizer, mentioning: [truncated])
    try TextFixtures.fail(["convert", checkpoint, "-o", out] + tokenizer, mentioning: [checkpoint, "head width 64"])
    try TextFixtures.fail(
      ["convert", checkpoint, "-o", out] + tinyHeads + ["--tokenizer", directory],
      mentioning: ["\(directory)/vocab.json"])
    #expect(!FileManager.default.fileExists(atPath: out))
    // An uncached tokenizer repo: the message says how to get the two files.
    let result = try CLI.run(
      ["convert", checkpoint, "-o", out] + tinyHeads + ["--tokenizer", "nobody/no-such-clip"],
      environment: ["HF_HUB_CACHE": directory])
    #expect(result.status != 0 && result.stderr.contains("hf download nobody/no-such-clip vocab.json merges.txt"), "\(result.stderr)")
  }
}

@Test func convertNeverOverwritesAndWarnsAboutUntrainedPositions() throws {
  try withTemporaryDirectory { directory in
    let keep = directory + "/keep.txt"
    try Data("mine".utf8).write(to: URL(fileURLWithPath: keep))
    try TextFixtures.fail(["convert", checkpoint, "-o", directory] + tinyHeads + tokenizer, mentioning: [directory])
    #expect(try String(contentsOfFile: keep, encoding: .utf8) == "mine")
    // The untrained variant has a 16-token vocabulary: the warning comes first, then the error.
    let untrained = Repository.fixture("torch/longclip-untrained.pt")
    let result = try CLI.run(["convert", untrained, "-o", directory + "/out"] + tinyHeads + tokenizer)
    #expect(result.status != 0)
    #expect(result.stderr.contains("warning") && result.stderr.contains("untrained"), "\(result.stderr)")
    #expect(result.stderr.contains("49408 tokens"), "\(result.stderr)")
  }
}
