import Core
import Foundation
import TestSupport
import Testing

// Bad inputs and bad models: one line on stderr naming the file and the problem, a non-zero exit,
// and no output left behind.

private typealias Fixtures = ImageFixtures

/// Runs `mmencode image` expecting failure: one stderr line per entry of `mentions`, each line
/// holding its strings (in order), a non-zero status, and nothing written at the output path.
private func expectFailure(
  images: [String], model: String, extra: [String] = [], lines mentions: [[String]],
  sourceLocation: SourceLocation = #_sourceLocation
) throws {
  let directory = try makeTemporaryDirectory()
  defer { try? FileManager.default.removeItem(at: directory) }
  let out = directory.appendingPathComponent("out.safetensors").path
  let result = try CLI.run(["image"] + images + ["-m", model, "-o", out, "--progress", "none"] + extra)
  #expect(result.status != 0, "status 0; stderr: \(result.stderr)", sourceLocation: sourceLocation)
  let lines = result.stderr.split(separator: "\n", omittingEmptySubsequences: false).dropLast()
  #expect(lines.count == mentions.count, "stderr: \(result.stderr)", sourceLocation: sourceLocation)
  for (line, words) in zip(lines, mentions) {
    for word in words {
      #expect(line.contains(word), "'\(word)' not in: \(line)", sourceLocation: sourceLocation)
    }
  }
  #expect(
    try FileManager.default.contentsOfDirectory(atPath: directory.path).isEmpty,
    "output left behind", sourceLocation: sourceLocation)
}

// MARK: - Inputs

/// A bad input next to a good one, and the words its error line must hold besides its path.
private let badInputs: [(path: String, problem: String)] = [
  ("/nonexistent/photo.png", "cannot read"),
  (Repository.fixture("images"), "is a directory"),
  // A text file named .png (the PNG signature check sends it to FFmpeg) and a text file.
  (Repository.fixture("images/not_image.png"), "Invalid PNG signature"),
  (Repository.root.appendingPathComponent("Package.swift").path, "not a media file"),
  (Repository.fixture("media/tone.mp3"), "not a still image"),
  (Repository.fixture("media/sample.mp4"), "not a still image"),
  (Repository.fixture("images/truncated.png"), "truncated"),
  (Repository.fixture("images/truncated.jpg"), "decoding failed"),
]

@Test(arguments: badInputs.indices)
func unreadableOrNonImageInputFailsWithOneLine(index: Int) throws {
  let (path, problem) = badInputs[index]
  try expectFailure(
    images: [Fixtures.goodImage, path], model: Fixtures.model("clip-tiny-a"),
    lines: [["mmencode: ", path + ":", problem]])
}

@Test func everyBadInputIsReportedAndNothingIsWritten() throws {
  let bad = [Repository.fixture("images/truncated.png"), "/nonexistent/a.jpg", Repository.fixture("media/tone.mp3")]
  // Bad inputs in the first, a middle and the last batch; good ones around them.
  let images = [bad[0], Fixtures.goodImage, Fixtures.goodImage, bad[1], Fixtures.goodImage, bad[2]]
  try expectFailure(
    images: images, model: Fixtures.model("clip-tiny-a"), extra: ["--batch-size", "2"],
    lines: bad.map { [$0 + ":"] })
}

@Test func aFailedRunLeavesAnEarlierOutputAsItWas() throws {
  let directory = try makeTemporaryDirectory()
  defer { try? FileManager.default.removeItem(at: directory) }
  let out = directory.appendingPathComponent("out.safetensors").path
  let earlier = Data("earlier output".utf8)
  try earlier.write(to: URL(fileURLWithPath: out))
  let result = try CLI.run(
    ["image", Fixtures.goodImage, Repository.fixture("images/truncated.png"), "-m", Fixtures.model("clip-tiny-a"), "-o", out])
  #expect(result.status != 0)
  #expect(try Data(contentsOf: URL(fileURLWithPath: out)) == earlier)
  #expect(try FileManager.default.contentsOfDirectory(atPath: directory.path) == ["out.safetensors"])
}

@Test func outputInAMissingDirectoryFailsBeforeAnyWork() throws {
  let out = "/nonexistent/embeddings/out.safetensors"
  let result = try CLI.run(["image", Fixtures.goodImage, "-m", Fixtures.model("clip-tiny-a"), "-o", out])
  #expect(result.status != 0)
  let lines = result.stderr.split(separator: "\n")
  #expect(lines.count == 1 && lines[0].contains(out + ": cannot write"), "stderr: \(result.stderr)")
}

// MARK: - Models

/// A copy of clip-tiny-vision-proj (a CLIPVisionModelWithProjection, 100 kB) in a fresh directory,
/// changed by `edit`; the caller removes the directory.
private func brokenModel(_ edit: (URL) throws -> Void) throws -> URL {
  let directory = try makeTemporaryDirectory().appendingPathComponent("model")
  try FileManager.default.copyItem(atPath: Fixtures.model("clip-tiny-vision-proj"), toPath: directory.path)
  try edit(directory)
  return directory
}

/// Rewrites the JSON object in `file`.
private func rewriteJSON(_ file: URL, _ change: (inout [String: Any]) -> Void) throws {
  var object = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: file)) as? [String: Any])
  change(&object)
  try JSONSerialization.data(withJSONObject: object).write(to: file)
}

/// Model defects: what to do to the copy, the file the error must name (empty: the model
/// directory), and words the error must hold.
private let modelDefects: [(name: String, edit: @Sendable (URL) throws -> Void, file: String, problem: String)] = [
  ("no config.json", { try FileManager.default.removeItem(at: $0.appendingPathComponent("config.json")) }, "config.json", "no such file"),
  ("no weights", { try FileManager.default.removeItem(at: $0.appendingPathComponent("model.safetensors")) }, "", "no model.safetensors"),
  ("no preprocessor config", { try FileManager.default.removeItem(at: $0.appendingPathComponent("preprocessor_config.json")) }, "preprocessor_config.json", "cannot read"),
  ("config not JSON", { try Data("{\"model_type\": ".utf8).write(to: $0.appendingPathComponent("config.json")) }, "config.json", "not valid JSON"),
  ("unknown model_type", { try rewriteJSON($0.appendingPathComponent("config.json")) { $0["model_type"] = "siglip_vision_model" } }, "config.json", "unknown model_type 'siglip_vision_model'"),
  // The checkpoint's fc1 is [96, 48]; the config now says 100 rows.
  ("shape disagrees with config", { try rewriteJSON($0.appendingPathComponent("config.json")) { $0["intermediate_size"] = 100 } }, "model.safetensors", "fc1.weight"),
  ("preprocessor config not JSON", { try Data("crop_size: 36".utf8).write(to: $0.appendingPathComponent("preprocessor_config.json")) }, "preprocessor_config.json", "invalid preprocessor config"),
  // Crop 40 for a model whose image_size is 36.
  ("crop does not fit the model", { try rewriteJSON($0.appendingPathComponent("preprocessor_config.json")) { $0["crop_size"] = ["height": 40, "width": 40] } }, "preprocessor_config.json", "takes [3, 36, 36]"),
]

@Test(arguments: modelDefects.indices)
func brokenModelFailsWithOneLine(index: Int) throws {
  let defect = modelDefects[index]
  let model = try brokenModel(defect.edit)
  defer { try? FileManager.default.removeItem(at: model.deletingLastPathComponent()) }
  try expectFailure(
    images: [Fixtures.goodImage], model: model.path,
    lines: [["Error: ", (defect.file.isEmpty ? model : model.appendingPathComponent(defect.file)).path + ":", defect.problem]])
}

@Test func textOnlyCheckpointIsRefused() throws {
  let model = Fixtures.model("clip-tiny-text-proj")
  try expectFailure(
    images: [Fixtures.goodImage], model: model,
    lines: [[model + "/config.json", "has no vision tower"]])
}

@Test func missingModelDirectoryIsNamed() throws {
  try expectFailure(
    images: [Fixtures.goodImage], model: "/nonexistent/clip", lines: [["/nonexistent/clip:", "no such directory"]])
}
