import Foundation
import Media
import TestSupport
import Testing
import Video

// Damaged, empty and non-video inputs fail with one error naming the file, and leave nothing in
// the store.

@Test(arguments: [
  "truncated.mp4", "truncated_no_index.mp4", "empty.mp4", "not_media.mp4", "tone.wav", "missing.mp4",
])
func badInputFailsNamingTheFileAndStoresNothing(name: String) throws {
  let path = Fixtures.media(name)
  let store = MemoryStore()
  let embedder = try VideoEmbedder(modelDirectory: Fixtures.model)
  do {
    _ = try embedder.embed(path: path, sampling: .default, store: store)
    Issue.record("\(name) was embedded")
  } catch let error as MediaError {
    #expect(error.path == path)
    #expect(error.localizedDescription.hasPrefix(path + ": "))
  }
  #expect(store.isEmpty)
}

@Test func aTruncatedFileIsRefusedEvenWhereItsStartIsReadable() throws {
  // truncated.mp4 keeps the first 55% of the bytes: its first frames decode, but embedding them
  // as the whole video would be a partial result.
  let path = Fixtures.media("truncated.mp4")
  let embedder = try VideoEmbedder(modelDirectory: Fixtures.model)
  #expect(throws: MediaError.self) {
    try embedder.embed(path: path, sampling: FrameSampling(formula: .uniform, budget: .count(1), end: 0.1))
  }
}

@Test func aDamagedFrameFailsTheRunAndStoresNothing() throws {
  // corrupt.mp4 has zeros written into 64 bytes of its media data: some frame (and those that
  // depend on it) cannot decode cleanly.
  let path = Fixtures.media("corrupt.mp4")
  let store = MemoryStore()
  let embedder = try VideoEmbedder(modelDirectory: Fixtures.model)
  #expect(throws: MediaError.self) {
    try embedder.embed(path: path, sampling: FrameSampling(formula: .uniform, budget: .fps(25)), store: store)
  }
  #expect(store.isEmpty)
}

@Test func aVisionTowerWithoutItsProjectionIsRefusedNamingTheModel() throws {
  // CLIPVisionModel has no image embeddings to cache; failing at load beats a crash per frame.
  let model = Repository.fixture("models/clip-tiny-vision-noproj")
  do {
    _ = try VideoEmbedder(modelDirectory: model)
    Issue.record("a CLIPVisionModel was accepted")
  } catch {
    #expect(error.localizedDescription.hasPrefix(model + "/config.json: "))
    #expect(error.localizedDescription.contains("CLIPVisionModelWithProjection"))
  }
}
