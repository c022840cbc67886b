import CLIP
import Core
import Foundation
import Media
import TestSupport
import Testing
import Video

// A video frame's embedding, through the whole pipeline, against
// - the image path on the same frame saved losslessly by the ffmpeg CLI with the frame's own
//   conversion filter (fixtures/media/reference/frames, gen_media_reference.py): StillImage.read,
//   ImagePreprocessor, CLIPVisionEncoder;
// - transformers 4.57.6 on that PNG: slow CLIPImageProcessor and clip-tiny-a's vision tower
//   (gen_video.py, embeddings.safetensors).
// Tolerance 1e-4 absolute (the bar): the pixels are identical, so only float32 summation
// order separates Swift from PyTorch (differences seen are around 1e-6); the image path runs the
// same Swift code and should agree exactly.

private let tolerance: Float = 1e-4

/// gen_media_reference.py's manifest: which video and frame each PNG holds, and the command.
private struct FramePNG: Decodable {
  let video: String
  let frame: Int
  let command: String
}

private let manifest = try! JSONDecoder().decode(
  [String: FramePNG].self,
  from: Data(contentsOf: URL(fileURLWithPath: Repository.fixture("media/reference/frames/frames.json"))))
private let reference = try! SafeTensorsFile(path: Fixtures.videoReference("embeddings.safetensors"))
private let stems: [String] = try! JSONDecoder().decode([String].self, from: Data(reference.metadata["frames"]!.utf8))

/// A window holding only frame `position`'s start, so a one-frame uniform sample takes it.
private func sampling(for position: Int, in index: FrameIndex) -> FrameSampling {
  let start = index.seconds(at: position)
  let end = position + 1 < index.count ? index.seconds(at: position + 1) : start + 1
  return FrameSampling(formula: .uniform, budget: .count(1), start: start, end: end)
}

@Test(arguments: stems)
func videoFrameEmbeddingMatchesTheImagePathAndTransformers(stem: String) throws {
  let png = try #require(manifest["\(stem).png"])
  let video = Fixtures.media(png.video)
  let reader = try VideoReader(path: video)
  // The PNG was written with exactly the conversion this frame gets.
  #expect(png.command.contains(try reader.frame(at: png.frame).ffmpegFilter))

  let embedder = try VideoEmbedder(modelDirectory: Fixtures.model)
  let result = try embedder.embed(path: video, sampling: sampling(for: png.frame, in: reader.index))
  #expect(result.frameIndex == [Int64(png.frame)])

  let encoder = try CLIPVisionEncoder.load(directory: Fixtures.model)
  let preprocessor = try ImagePreprocessor(contentsOf: Fixtures.model + "/preprocessor_config.json")
  let still = try encoder.encode(pixels: preprocessor.preprocess([StillImage.read(path: Fixtures.framePNG(stem))]))
  let imagePath = maxAbsDifference(result.embeddings, try #require(still.embeds))
  #expect(imagePath <= tolerance, "\(stem): max |video - image path| = \(imagePath)")

  let transformers = try reference.tensor("\(stem).image_embeds")
  let difference = maxAbsDifference(result.embeddings, transformers)
  #expect(difference <= tolerance, "\(stem): max |mmencode - transformers| = \(difference)")
}

@Test(arguments: stems.filter { reference.names.contains("\($0).last_hidden_state") })
func tokensMatchTransformersLastHiddenState(stem: String) throws {
  let png = try #require(manifest["\(stem).png"])
  let video = Fixtures.media(png.video)
  let index = try VideoReader(path: video).index
  let embedder = try VideoEmbedder(modelDirectory: Fixtures.model, tokens: true)
  let result = try embedder.embed(path: video, sampling: sampling(for: png.frame, in: index))
  let tokens = try #require(result.tokens)
  let expected = try reference.tensor("\(stem).last_hidden_state")
  let difference = maxAbsDifference(tokens, expected)
  #expect(difference <= tolerance, "\(stem): max |tokens - last_hidden_state| = \(difference)")
  // Tokens do not change the pooled embeddings.
  let plain = try VideoEmbedder(modelDirectory: Fixtures.model).embed(path: video, sampling: sampling(for: png.frame, in: index))
  #expect(plain.embeddings == result.embeddings)
}

@Test func batchSizeDoesNotChangeEmbeddings() throws {
  let video = Fixtures.media("h264_bframes.mp4")
  let sampling = FrameSampling(formula: .uniform, budget: .count(11))
  let one = try VideoEmbedder(modelDirectory: Fixtures.model, batchSize: 1).embed(path: video, sampling: sampling)
  let many = try VideoEmbedder(modelDirectory: Fixtures.model, batchSize: 4).embed(path: video, sampling: sampling)
  #expect(one.frameIndex == many.frameIndex)
  let difference = maxAbsDifference(one.embeddings, many.embeddings)
  // Batching changes only BLAS blocking, not the arithmetic per row, beyond float32 noise.
  #expect(difference <= tolerance, "max |batch 1 - batch 4| = \(difference)")
}
