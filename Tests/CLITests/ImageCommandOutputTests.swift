import Core
import Foundation
import TestSupport
import Testing

// Layouts, default paths, metadata and progress of `mmencode image`.

private typealias Fixtures = ImageFixtures

@Test func npyOutputIsADirectoryOfArraysAndMetadata() throws {
  let model = "clip-tiny-vision-proj"
  let (reference, images) = try Fixtures.reference(model)
  let directory = try makeTemporaryDirectory()
  defer { try? FileManager.default.removeItem(at: directory) }
  let out = directory.appendingPathComponent("embeddings").path
  let result = try CLI.run(
    ["image"] + images + ["-m", Fixtures.model(model), "-o", out, "--format", "npy", "--hidden", "--alpha", "drop"])
  try #require(result.status == 0, "stderr: \(result.stderr)")

  let files = try FileManager.default.contentsOfDirectory(atPath: out).sorted()
  #expect(files == ["image_embeds.npy", "last_hidden_state.npy", "metadata.json", "pooler_output.npy"])
  let (arrays, metadata) = try readNPYOutput(out)
  #expect(metadata["image.alpha"] == "drop")
  for array in arrays {
    let tensor = try #require(array.tensor, "\(array.name) is not float32")
    try Fixtures.expectRowsMatch(
      tensor, reference, key: "drop.\(array.name)", output: array.name, images: images, label: "\(model) npy")
  }
}

@Test func metadataNamesModelInputsAndSettings() throws {
  let directory = try makeTemporaryDirectory()
  defer { try? FileManager.default.removeItem(at: directory) }
  // Relative input paths are recorded as given.
  let images = ["a.png", "b.jpg"]
  try FileManager.default.copyItem(atPath: Fixtures.goodImage, toPath: directory.appendingPathComponent(images[0]).path)
  try FileManager.default.copyItem(
    atPath: Repository.fixture("images/photo420.jpg"), toPath: directory.appendingPathComponent(images[1]).path)
  let model = Fixtures.model("clip-tiny-a")
  let result = try CLI.run(
    ["image"] + images + ["-m", model, "-o", "out.safetensors", "--alpha", "drop"], in: directory)
  try #require(result.status == 0, "stderr: \(result.stderr)")

  let metadata = try SafeTensorsFile(path: directory.appendingPathComponent("out.safetensors").path).metadata
  #expect(metadata["mmencode.version"] == mmencodeVersion)
  #expect(metadata["model"] == model)
  #expect(metadata["model.path"] == model)
  #expect(metadata["model.sha256"] == (try modelHash(directory: model)))
  let inputs = try JSONDecoder().decode([String].self, from: Data((metadata["image.inputs"] ?? "").utf8))
  #expect(inputs == images)
  #expect(metadata["image.alpha"] == "drop")
  #expect(metadata["image.normalized"] == "false")
  #expect(metadata["image.projection"] == "true")
  #expect(metadata.count == 8, "\(metadata.keys.sorted())")
}

@Test(arguments: [("safetensors", "image_embeds.safetensors"), ("npy", "image_embeds")])
func withoutOutputOptionWritesToTheWorkingDirectory(format: String, expectedName: String) throws {
  let directory = try makeTemporaryDirectory()
  defer { try? FileManager.default.removeItem(at: directory) }
  let result = try CLI.run(
    ["image", Fixtures.goodImage, "-m", Fixtures.model("clip-tiny-a"), "--format", format], in: directory)
  try #require(result.status == 0, "stderr: \(result.stderr)")
  #expect(try FileManager.default.contentsOfDirectory(atPath: directory.path) == [expectedName])
}

@Test func jsonProgressEndsWithTheImageCount() throws {
  let directory = try makeTemporaryDirectory()
  defer { try? FileManager.default.removeItem(at: directory) }
  let images = Array(repeating: Fixtures.goodImage, count: 5)
  let result = try CLI.run(
    ["image"] + images + [
      "-m", Fixtures.model("clip-tiny-a"), "-o", directory.appendingPathComponent("o.safetensors").path,
      "--progress", "json", "--batch-size", "2",
    ])
  try #require(result.status == 0, "stderr: \(result.stderr)")
  let events = try result.stderr.split(separator: "\n").map {
    try #require(try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any])
  }
  let last = try #require(events.last)
  #expect(last["event"] as? String == "done")
  #expect(last["images"] as? Int == images.count)
  #expect(last["failed"] as? Int == 0)
  let progress = events.filter { $0["event"] as? String == "progress" }
  #expect(progress.last?["completed"] as? Int == images.count)
  #expect(progress.last?["total"] as? Int == images.count)
}

@Test func barProgressCountsImages() throws {
  let directory = try makeTemporaryDirectory()
  defer { try? FileManager.default.removeItem(at: directory) }
  let images = Array(repeating: Fixtures.goodImage, count: 3)
  let result = try CLI.run(
    ["image"] + images + [
      "-m", Fixtures.model("clip-tiny-a"), "-o", directory.appendingPathComponent("o.safetensors").path,
      "--progress", "bar", "--batch-size", "2",
    ])
  try #require(result.status == 0, "stderr: \(result.stderr)")
  // The bar is redrawn in place and ends its line when the run finishes.
  #expect(result.stderr.contains("images ["), "stderr: \(result.stderr)")
  #expect(result.stderr.contains("3/3 images"), "stderr: \(result.stderr)")
  #expect(result.stderr.hasSuffix("\n"))
}
