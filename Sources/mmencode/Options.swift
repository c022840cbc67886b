import ArgumentParser
import Core
import Foundation

/// `--model`: a checkpoint directory or a Hugging Face repo id found in the local cache.
struct ModelOptions: ParsableArguments {
  @Option(
    name: .shortAndLong,
    help: ArgumentHelp(
      "Checkpoint directory (Hugging Face layout) or repo id such as openai/clip-vit-base-patch32, "
        + "resolved offline from the Hugging Face cache.", valueName: "dir-or-repo"))
  var model: String

  /// The model's directory (repo ids resolved through the Hugging Face cache).
  func directory() throws -> String { try resolveModelDirectory(model) }
}

/// `--ctc-head`: where FastLongSpeech's content density comes from.
struct DensityOptions: ParsableArguments {
  @Option(
    name: .customLong("ctc-head"),
    help: ArgumentHelp(
      "FastLongSpeech CTC head for content density (ctc_decoder.* and audio_tower.layer_norm.*): "
        + "a .safetensors file, a sharded index or a directory. Without it every frame has density 1.",
      valueName: "file"))
  var ctcHead: String?
}

/// `-o` and `--format`: where and how a command writes its arrays.
struct OutputOptions: ParsableArguments {
  @Option(
    name: .shortAndLong,
    help: ArgumentHelp(
      "Output path: a .safetensors file, or a directory with --format npy.", valueName: "path"))
  var output: String?

  @Option(help: "Output layout: safetensors (one file) or npy (a directory of .npy files).")
  var format: OutputFormat = .safetensors
}

extension OutputFormat: ExpressibleByArgument {}

/// Thread count and progress display, shared by every command that does real work.
struct RuntimeOptions: ParsableArguments {
  @Option(help: "Threads for BLAS and parallel loops (default: one per core).")
  var threads: Int?

  @Option(help: "Progress on stderr: auto (a bar on a terminal), bar, json or none.")
  var progress: ProgressStyle = .auto

  func validate() throws {
    if let threads, threads < 1 { throw ValidationError("--threads must be at least 1") }
  }

  /// Applies the thread setting and returns the progress display to report through.
  func start() -> ProgressDisplay {
    Threads.configure(threads)
    Allocator.keepFreedMemory()
    return ProgressDisplay(progress)
  }
}

/// Metadata keys written by every command, so outputs can be traced to the model and tool that
/// made them.
func standardMetadata(modelDirectory: String, modelReference: String) throws -> [String: String] {
  [
    "mmencode.version": mmencodeVersion,
    "model": modelReference,
    "model.path": modelDirectory,
    "model.sha256": try modelHash(directory: modelDirectory),
  ]
}
