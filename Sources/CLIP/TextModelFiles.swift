// Where a text tower's checkpoint and tokenizer are inside the directory a user names: one
// directory for a transformers checkpoint, two subfolders of a diffusers pipeline (diffusers'
// `StableDiffusionPipeline.from_pretrained` loads `text_encoder/` and `tokenizer/`).

import Foundation

/// The directories holding a text tower's checkpoint (config.json and weights) and its
/// tokenizer (vocab.json, merges.txt).
///
/// A transformers checkpoint (`save_pretrained` of `CLIPModel`, `CLIPTextModel`, ...) holds both
/// in itself. A diffusers pipeline, a directory with `model_index.json` (Stable Diffusion 1.x and
/// 2.x, SDXL), keeps its CLIP text encoder in `text_encoder/` and the tokenizer in `tokenizer/`;
/// SDXL's second encoder (`text_encoder_2/`) is not chosen here.
public struct CLIPTextModelFiles: Sendable, Equatable {
  /// The file that marks a diffusers pipeline.
  public static let pipelineIndexFileName = "model_index.json"
  /// A pipeline's subfolders holding the text encoder and its tokenizer.
  public static let pipelineEncoderFolder = "text_encoder"
  public static let pipelineTokenizerFolder = "tokenizer"

  /// The directory for ``CLIPTextEncoder/load(directory:)``.
  public var encoderDirectory: String
  /// The directory for ``CLIPTokenizer/init(directory:)``.
  public var tokenizerDirectory: String

  /// The files of the model in `directory`. Only the presence of `model_index.json` is checked:
  /// a pipeline without one of the subfolders fails when loading, naming the missing file.
  public init(modelDirectory directory: String) {
    func path(_ name: String) -> String { (directory as NSString).appendingPathComponent(name) }
    if FileManager.default.fileExists(atPath: path(Self.pipelineIndexFileName)) {
      encoderDirectory = path(Self.pipelineEncoderFolder)
      tokenizerDirectory = path(Self.pipelineTokenizerFolder)
    } else {
      encoderDirectory = directory
      tokenizerDirectory = directory
    }
  }
}
