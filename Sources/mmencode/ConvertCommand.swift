import ArgumentParser
import CLIP
import Core
import Foundation

/// `mmencode convert longclip-L.pt -o DIR`: a released Long-CLIP checkpoint as a Hugging Face
/// CLIPModel directory.
struct ConvertCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "convert",
    abstract: "Convert a Long-CLIP .pt checkpoint into a Hugging Face CLIPModel directory.",
    discussion: """
      Reads the checkpoint without Python (the .pt is never executed) and writes config.json, \
      model.safetensors (float32), the tokenizer files and preprocessor_config.json, which \
      mmencode and transformers both load. The text position table is Long-CLIP's effective one: \
      the first --kept-positions rows of positional_embedding, the rest of positional_embedding_res.
      Long-CLIP checkpoints carry no tokenizer; they use CLIP's, copied from --tokenizer: any CLIP \
      checkpoint directory holding vocab.json and merges.txt, or a repo id found in the local \
      Hugging Face cache (default \(defaultTokenizer)).
      """)

  /// Every OpenAI CLIP repo ships the same vocabulary; this is the one Stable Diffusion users
  /// most likely have cached.
  static let defaultTokenizer = "openai/clip-vit-large-patch14"

  @Argument(help: "The Long-CLIP checkpoint (.pt, as torch.save wrote it).")
  var checkpoint: String

  @Option(name: .shortAndLong, help: ArgumentHelp("Directory to create.", valueName: "dir"))
  var output: String

  @Option(help: ArgumentHelp("Where vocab.json and merges.txt come from.", valueName: "dir-or-repo"))
  var tokenizer = Self.defaultTokenizer

  @Option(help: "Width of one attention head; heads = width / this (64 in every OpenAI CLIP and Long-CLIP).")
  var headWidth = LongCLIPCheckpoint.openAIHeadWidth

  @Option(help: "Text positions taken from positional_embedding (Long-CLIP keeps 20).")
  var keptPositions = PositionStretch.defaultKeptRows

  func run() throws {
    let tokenizerDirectory: String
    do { tokenizerDirectory = try resolveModelDirectory(tokenizer) } catch WeightError.modelNotInCache(
      let repo, _, let cache)
    {
      throw ConvertCommandError.tokenizerNotCached(repo: tokenizer, cache: cache, bare: repo)
    }
    let longCLIP = try LongCLIPCheckpoint(path: checkpoint, headWidth: headWidth, keptRows: keptPositions)
    let report = longCLIP.positionReport
    if report.isUntrained {
      printError(
        "warning: \(checkpoint): positional_embedding_res equals positional_embedding from row "
          + "\(report.keptRows) on, so those rows are the untrained stretch, not Long-CLIP's trained positions")
    }
    try longCLIP.writeHuggingFaceDirectory(output, tokenizerDirectory: tokenizerDirectory)
    let (text, vision) = (longCLIP.config.textConfig, longCLIP.config.visionConfig)
    print(
      """
      \(output): CLIPModel, text \(text.hiddenSize) wide x \(text.numHiddenLayers) layers with \
      \(text.maxPositionEmbeddings) positions (rows 0..<\(report.keptRows) from \
      positional_embedding, the rest from positional_embedding_res), vision \
      \(vision.hiddenSize) wide x \(vision.numHiddenLayers) layers at \(vision.imageSize) px, \
      projection \(longCLIP.config.projectionDim)
      """)
  }
}

/// Why `mmencode convert` cannot start.
enum ConvertCommandError: Error, LocalizedError {
  case tokenizerNotCached(repo: String, cache: String, bare: String)

  var errorDescription: String? {
    switch self {
    case .tokenizerNotCached(let repo, let cache, let bare):
      "\(repo): the tokenizer is not a local directory and not in the Hugging Face cache "
        + "(\(cache)); pass --tokenizer DIR (any CLIP checkpoint directory with vocab.json and "
        + "merges.txt), or fetch those two files with `hf download \(bare) vocab.json merges.txt`"
    }
  }
}
