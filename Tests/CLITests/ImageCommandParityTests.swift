import Core
import Foundation
import TestSupport
import Testing

// `mmencode image` from raw image files against transformers (fixtures/gen_clip_e2e.py), for each
// fixture model and alpha policy, in batches that do not divide the image count.

private typealias Fixtures = ImageFixtures

@Test(arguments: Fixtures.models, Fixtures.policies)
func imageCommandMatchesTransformers(model: String, alpha: String) throws {
  let (reference, images) = try Fixtures.reference(model)
  let directory = try makeTemporaryDirectory()
  defer { try? FileManager.default.removeItem(at: directory) }
  let out = directory.appendingPathComponent("out.safetensors").path
  let result = try CLI.run(
    ["image"] + images + [
      "-m", Fixtures.model(model), "-o", out, "--hidden", "--alpha", alpha, "--batch-size", "4",
      "--progress", "none",
    ])
  try #require(result.status == 0, "stderr: \(result.stderr)")
  #expect(result.stderr.isEmpty, "stderr: \(result.stderr)")

  let file = try SafeTensorsFile(path: out)
  #expect(file.names == ["image_embeds", "last_hidden_state", "pooler_output"])
  for output in ["image_embeds", "pooler_output", "last_hidden_state"] {
    try Fixtures.expectRowsMatch(
      try file.tensor(output), reference, key: "\(alpha).\(output)", output: output, images: images,
      label: "\(model) --alpha \(alpha)")
  }
}

@Test func normalizeWritesUnitRowsLikeTorch() throws {
  let model = "clip-tiny-b"
  let (reference, images) = try Fixtures.reference(model)
  let directory = try makeTemporaryDirectory()
  defer { try? FileManager.default.removeItem(at: directory) }
  let out = directory.appendingPathComponent("normalized.safetensors").path
  let result = try CLI.run(
    ["image"] + images + ["-m", Fixtures.model(model), "-o", out, "--normalize", "--batch-size", "1", "--threads", "1"])
  try #require(result.status == 0, "stderr: \(result.stderr)")

  let file = try SafeTensorsFile(path: out)
  // Without --hidden there is no last_hidden_state; normalization touches only the embeddings.
  #expect(file.names == ["image_embeds", "pooler_output"])
  #expect(file.metadata["image.normalized"] == "true")
  try Fixtures.expectRowsMatch(
    try file.tensor("image_embeds"), reference, key: "composite.image_embeds_normalized",
    output: "image_embeds", images: images, label: "\(model) --normalize")
  try Fixtures.expectRowsMatch(
    try file.tensor("pooler_output"), reference, key: "composite.pooler_output", output: "pooler_output",
    images: images, label: "\(model) --normalize")
}
