import ArgumentParser
import CLIP
import Core
import Foundation
import Media

/// `mmencode image IMG... -m MODEL`: CLIP image embeddings of still image files.
struct ImageCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "image",
    abstract: "Encode still images with a CLIP vision tower.",
    discussion: """
      Each image is decoded (PNG through libpng, JPEG, WebP, BMP, TIFF, GIF and other still \
      images through FFmpeg; the first frame of an animation), preprocessed as the model's \
      preprocessor_config.json says (transformers' CLIPImageProcessor on its PIL path), and \
      encoded in batches. The model is a CLIPModel, CLIPVisionModelWithProjection or \
      CLIPVisionModel checkpoint (a vision tower without a projection, as LLaVA-style models \
      use).

      The output holds, for the N images in the order given: image_embeds [N, P], the \
      projected embeddings as get_image_features gives them (L2-normalized with --normalize; \
      absent for a CLIPVisionModel, which has no projection); pooler_output [N, W], the class \
      token after the post-LayerNorm; and with --hidden last_hidden_state [N, T, W], the last \
      layer's states (T = 1 + patches). \
      Metadata: model, model.path, model.sha256 and mmencode.version, as in every mmencode \
      output, plus image.inputs (the paths as given, a JSON list), image.alpha, \
      image.projection (false: no image_embeds) and image.normalized.

      Without -o the output is image_embeds.safetensors (with --format npy, the directory \
      image_embeds) in the current directory.

      The output is one batch, written whole or not at all: if any input cannot be read or \
      decoded, every such input is reported on stderr (one line each), nothing is written, and \
      the exit status is 1.
      """)

  @Argument(help: ArgumentHelp("Image files.", valueName: "image"))
  var images: [String]

  @OptionGroup var model: ModelOptions
  @OptionGroup var output: OutputOptions
  @OptionGroup var encoding: EncodeOptions

  @Option(
    help: ArgumentHelp(
      "What to do with transparency: composite onto white (transformers 5's "
        + "CLIPImageProcessorPil) or drop the alpha channel and keep the colour under it "
        + "(transformers 4's CLIPImageProcessor)."))
  var alpha: AlphaChoice = .composite

  @OptionGroup var runtime: RuntimeOptions

  func validate() throws {
    if images.isEmpty { throw ValidationError("give at least one image file") }
  }

  /// The progress item and unit of the run.
  private static let progressItem = "images"

  func run() throws {
    let display = runtime.start()
    let destination = try output.checkedPath(defaultName: Self.outputName)
    let directory = try model.directory()
    let (encoder, preprocessor) = try loadModel(directory)
    if encoding.normalize, !encoder.hasProjection {
      throw EncodeCommandError.normalizeWithoutProjection(
        model: model.model, architecture: "CLIPVisionModel", embedsName: Self.outputName)
    }
    let vision = encoder.config
    let modelInput = [vision.numChannels, vision.imageSize, vision.imageSize]

    var results = EncodedBatches(
      embedsName: encoder.hasProjection ? Self.outputName : nil, keepsHiddenStates: encoding.hidden)
    var failures = 0
    for batch in encoding.batches(count: images.count) {
      let paths = Array(images[batch])
      var pixels: [Tensor] = []
      for (path, prepared) in zip(paths, prepare(paths, preprocessor, modelInput: modelInput)) {
        switch prepared {
        case .success(let values): pixels.append(values)
        case .failure(let error):
          failures += 1
          display.interrupt()
          reportFailure(of: path, error)
        }
      }
      // After a failure nothing will be written, but the other inputs are still decoded so that
      // every bad one is reported in a single run.
      if failures == 0 { results.append(try encoder.encode(pixels: Tensor.stack(pixels))) }
      display.report(
        ProgressReport(
          item: Self.progressItem, completed: batch.upperBound, total: images.count, unit: Self.progressItem))
    }
    display.finish(item: Self.progressItem, summary: ["images": images.count, "failed": failures])
    if failures > 0 { throw ExitCode.failure }

    try writeOutput(
      results.arrays(normalize: encoding.normalize),
      metadata: try metadata(modelDirectory: directory, projection: encoder.hasProjection),
      to: destination, format: output.format)
  }

  /// The vision tower and the preprocessing of the checkpoint in `directory`, checked to fit
  /// each other.
  private func loadModel(_ directory: String) throws -> (CLIPVisionEncoder, ImagePreprocessor) {
    // The tower first: a text-only checkpoint is reported as such, not as lacking a preprocessor.
    let encoder = try CLIPVisionEncoder.load(directory: directory)
    let configPath = (directory as NSString).appendingPathComponent(Self.preprocessorConfigFileName)
    var config = try PreprocessorConfig.load(contentsOf: configPath)
    config.alphaPolicy = alpha.policy
    let preprocessor = ImagePreprocessor(config: config)
    let vision = encoder.config
    let modelInput = [vision.numChannels, vision.imageSize, vision.imageSize]
    // A config that fits any image fits a square one of the model's size (without a crop, only
    // images of the model's aspect ratio can fit), so this rejects the configs that fit none.
    let squareShape = preprocessor.outputShape(width: vision.imageSize, height: vision.imageSize)
    guard squareShape == modelInput else {
      throw ImageCommandError.preprocessingDoesNotFitModel(
        path: configPath, shape: squareShape, modelInput: modelInput)
    }
    return (encoder, preprocessor)
  }

  private func metadata(modelDirectory: String, projection: Bool) throws -> [String: String] {
    var metadata = try standardMetadata(modelDirectory: modelDirectory, modelReference: model.model)
    metadata.merge(encoding.metadata(command: "image")) { $1 }
    let inputs = try JSONSerialization.data(withJSONObject: images, options: [.withoutEscapingSlashes])
    metadata["image.inputs"] = String(decoding: inputs, as: UTF8.self)
    metadata["image.alpha"] = alpha.rawValue
    metadata["image.projection"] = String(projection)
    return metadata
  }

  /// The embeddings' array name, also the default output name.
  static let outputName = "image_embeds"

  static let preprocessorConfigFileName = "preprocessor_config.json"
}

/// `--alpha`: the command-line spelling of ``AlphaPolicy``.
enum AlphaChoice: String, CaseIterable, ExpressibleByArgument {
  case composite
  case drop

  var policy: AlphaPolicy {
    switch self {
    case .composite: .compositeOnWhite
    case .drop: .drop
    }
  }
}

/// Why images cannot go through the model, beyond what Media, CLIP and Core report.
enum ImageCommandError: Error, LocalizedError {
  /// The preprocessor config makes `shape` from a square image of the model's size, which is not
  /// the model's `[C, S, S]` input (a crop size that is not the model's `image_size`, say).
  case preprocessingDoesNotFitModel(path: String, shape: [Int], modelInput: [Int])
  /// Without a centre crop this image preprocesses to `shape`, not the model's input.
  case imageDoesNotFitModel(path: String, shape: [Int], modelInput: [Int])

  var errorDescription: String? {
    switch self {
    case .preprocessingDoesNotFitModel(let path, let shape, let modelInput):
      "\(path): preprocessing makes \(shape) pixel arrays, but the model (config.json) takes \(modelInput)"
    case .imageDoesNotFitModel(let path, let shape, let modelInput):
      "\(path): preprocesses to \(shape), but the model takes \(modelInput) (the preprocessor config has no centre crop)"
    }
  }
}

/// Decodes and preprocesses `paths` on up to `Threads.count` threads: `[C, S, S]` pixel values or
/// the error, per path in order.
private func prepare(
  _ paths: [String], _ preprocessor: ImagePreprocessor, modelInput: [Int]
) -> [Result<Tensor, any Error>] {
  var results = [Result<Tensor, any Error>?](repeating: nil, count: paths.count)
  results.withUnsafeMutableBufferPointer { results in
    // Each item is a whole image, worth a task on its own; its own resizing then runs on this
    // worker (nested loops are serial), so images, not rows, are what the workers share.
    Threads.parallelFor(paths.count) { indices in
      for index in indices {
        results[index] = Result {
          let image = try StillImage.read(path: paths[index])
          let shape = preprocessor.outputShape(width: max(image.width, 1), height: max(image.height, 1))
          guard shape == modelInput else {
            throw ImageCommandError.imageDoesNotFitModel(path: paths[index], shape: shape, modelInput: modelInput)
          }
          return try preprocessor.preprocess(image)
        }
      }
    }
  }
  return results.map { $0! }
}
