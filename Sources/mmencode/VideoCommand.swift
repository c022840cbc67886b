import ArgumentParser
import Core
import Foundation
import Speech
import Video

/// `mmencode video FILE...` (also `mmencode FILE...`): per-frame CLIP image embeddings of videos.
struct VideoCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "video",
    abstract: "Embed chosen frames of videos with a CLIP vision tower.",
    discussion: """
      Frames are chosen from a scan of every packet (never the container's frame count), \
      decoded at full resolution, preprocessed exactly as transformers' CLIPImageProcessor does \
      and encoded in batches. Frames already in the embedding cache are not decoded again.

      Frame choice: --fps F (default 1 per second) or --frames N, with --sampler uniform (the \
      frames on screen at evenly spaced instants) or one of the published index formulas: hf \
      (transformers), qwen (qwen_vl_utils), vila (VILA / Long-RL), llava (LLaVA-Video). \
      --start/--end are seconds on the stream's clock, the same clock as the exported timestamps.

      Output: one input writes OUT (default ./<name>.safetensors); several write one file per \
      input into the directory -o names (default the current one). Tensors: embeddings [T, P] \
      float32, timestamps [T] float64 seconds, pts [T] int64 (stream time base), frame_index \
      [T] int64, and with --tokens, tokens [T, 1 + patches, W]. A file that fails is reported on \
      stderr and the others still run; the exit status is then non-zero.

      --speech MODEL also encodes each video's audio track with a Whisper or Qwen2-Audio encoder \
      and fuses it as `mmencode speech` does, adding speech_fused [L, D], speech_spans [L, 2] \
      and speech_span_seconds [L, 2] (seconds from the track's first sample) and speech.* \
      metadata. A video without an audio track is then an error. Speech is not cached.

      --dry-run indexes each video and consults the cache without decoding a frame, and prints \
      per video the frames chosen, how many the cache holds and how many would be encoded. It \
      writes no output and no embeddings (only the remembered file hashes every run keeps).

      --shard i/N handles only the inputs of shard i of N (0-based), chosen by a hash of each \
      input's path as given, so N processes given the same list split it without overlap and \
      reordering the list moves nothing; output names are those the whole list would get. \
      --shard auto reads SLURM_PROCID/SLURM_NTASKS, else RANK/WORLD_SIZE (torchrun).
      """)

  /// The model used without `-m` or `$MMENCODE_MODEL`.
  static let defaultModel = "openai/clip-vit-base-patch32"
  static let modelEnvironmentVariable = "MMENCODE_MODEL"

  @Argument(help: "Video files.")
  var files: [String] = []

  @Option(help: ArgumentHelp("A text file naming one video per line (blank lines and lines starting with # skipped).", valueName: "file"))
  var list: String?

  @Option(
    name: .shortAndLong,
    help: ArgumentHelp(
      "Checkpoint directory or Hugging Face repo id, resolved offline (default: $MMENCODE_MODEL, else \(defaultModel)).",
      valueName: "dir-or-repo"))
  var model: String?

  @Option(help: "Take this many frames.")
  var frames: Int?

  @Option(help: "Take this many frames per second of video (default 1 with the uniform sampler).")
  var fps: Double?

  @Option(help: "How frames are chosen (see above).")
  var sampler: SamplerFormula = .uniform

  @Option(help: ArgumentHelp("Only frames from this time on (seconds, stream clock).", valueName: "seconds"))
  var start: Double?

  @Option(help: ArgumentHelp("Only frames before this time (seconds, stream clock).", valueName: "seconds"))
  var end: Double?

  @Option(help: "At most this many frames; fps sampling that would take more takes this many instead.")
  var maxFrames: Int?

  @Flag(help: "Also export each frame's patch tokens (the vision tower's last_hidden_state).")
  var tokens = false

  @Option(help: "Frames per encoder call.")
  var batchSize: Int = VideoEmbedder.defaultBatchSize

  @Option(help: ArgumentHelp("Also encode and fuse each video's audio track with this speech encoder (see above).", valueName: "dir-or-repo"))
  var speech: String?

  @Option(help: ArgumentHelp("With --speech: FastLongSpeech CTC head for content density (see `mmencode speech`).", valueName: "file"))
  var speechCtcHead: String?

  @Option(help: "With --speech: fused speech frames per video (L; default \(FusionSchedule.defaultTargetLength)).")
  var speechTargetLength: Int?

  @Option(help: "With --speech: fusion schedule, halving (default) or ladder (at most 30 s of audio).")
  var speechSchedule: FusionSchedule?

  @Option(help: ArgumentHelp("Only this process's part of the inputs: i/N or auto (see above).", valueName: "i/N"))
  var shard: String?

  @Flag(help: "Print what each video would take from the cache and encode; write no output.")
  var dryRun = false

  @OptionGroup var output: OutputOptions
  @OptionGroup var cache: CacheOptions
  @OptionGroup var runtime: RuntimeOptions

  func validate() throws {
    if files.isEmpty && list == nil { throw ValidationError("name at least one video (or --list FILE)") }
    if frames != nil && fps != nil { throw ValidationError("give --frames or --fps, not both") }
    if sampler != .uniform && frames == nil && fps == nil {
      throw ValidationError("--sampler \(sampler.rawValue) needs --frames N or --fps F")
    }
    if batchSize < 1 { throw ValidationError("--batch-size must be at least 1") }
    if speech == nil && (speechCtcHead != nil || speechTargetLength != nil || speechSchedule != nil) {
      throw ValidationError("--speech-ctc-head, --speech-target-length and --speech-schedule need --speech MODEL")
    }
    do { try sampling.validate() } catch { throw ValidationError(error.localizedDescription) }
    _ = try shard.map { try Shard($0) }
  }

  var sampling: FrameSampling {
    let budget: FrameBudget = frames.map { .count($0) } ?? .fps(fps ?? 1)
    return FrameSampling(formula: sampler, budget: budget, start: start, end: end, maxFrames: maxFrames)
  }

  func run() throws {
    let display = runtime.start()
    let inputs = try inputPaths()
    let fromEnvironment = ProcessInfo.processInfo.environment[Self.modelEnvironmentVariable].flatMap { $0.isEmpty ? nil : $0 }
    let reference = model ?? fromEnvironment ?? Self.defaultModel
    let directory = try resolveModelDirectory(reference)
    let embedder = try VideoEmbedder(modelDirectory: directory, tokens: tokens, batchSize: batchSize)
    let store = cache.store()
    var modelMetadata = try standardMetadata(modelDirectory: directory, modelReference: reference)
    let speechRun = try speech.map { reference in
      let directory = try resolveModelDirectory(reference)
      for (key, value) in try standardMetadata(modelDirectory: directory, modelReference: reference)
      where key.hasPrefix("model") {
        modelMetadata["speech." + key] = value
      }
      return try SpeechRun(
        modelDirectory: directory, ctcHead: speechCtcHead,
        targetLength: speechTargetLength ?? FusionSchedule.defaultTargetLength, schedule: speechSchedule ?? .halving)
    }
    var work = Array(zip(inputs, try outputPaths(for: inputs)))
    if let shard = try shard.map({ try Shard($0) }) {
      work = work.filter { shard.owns($0.0) }
      printError("shard \(shard): \(work.count) of \(inputs.count) inputs")
    }

    var failures = 0
    for (input, destination) in work {
      do {
        if dryRun {
          try plan(input, destination: destination, embedder: embedder, store: store)
        } else {
          try embed(
            input, to: destination, embedder: embedder, store: store, speech: speechRun, metadata: modelMetadata,
            display: display)
        }
      } catch {
        failures += 1
        display.interrupt()
        reportFailure(of: input, error)
      }
    }
    if failures > 0 { throw ExitCode.failure }
  }

  /// Embeds one video (and its speech) and writes its output.
  private func embed(
    _ input: String, to destination: String, embedder: VideoEmbedder, store: (any EmbeddingStore)?,
    speech speechRun: SpeechRun?, metadata modelMetadata: [String: String], display: ProgressDisplay
  ) throws {
    let result = try embedder.embed(path: input, sampling: sampling, store: store, progress: display.handler)
    for warning in result.cacheWarnings {
      display.interrupt()
      printError("\(input): cache entry ignored: \(warning)")
    }
    var arrays = result.arrays
    var metadata = modelMetadata.merging(result.metadata) { $1 }
    if let speechRun {
      let speech = try speechRun.run(file: input, keepFrames: false, progress: display.handler)
      arrays += speech.arrays.map { NamedArray("speech_" + $0.name, shape: $0.shape, values: $0.values) }
      metadata.merge(speech.metadata) { $1 }
    }
    try writeOutput(arrays, metadata: metadata, to: destination, format: output.format)
    display.finish(item: input, summary: summary(result, destination: destination))
    print(summaryLine(result, destination: destination))
  }

  /// Prints what embedding one video would take, for `--dry-run`.
  private func plan(
    _ input: String, destination: String, embedder: VideoEmbedder, store: (any EmbeddingStore)?
  ) throws {
    let plan = try embedder.plan(path: input, sampling: sampling, store: store)
    for warning in plan.cacheWarnings { printError("\(input): cache entry ignored: \(warning)") }
    print(
      "\(input): \(plan.frames) frames (\(plan.fromCache) in cache, \(plan.toEncode) to encode) "
        + "-> \(destination)  [dry run]")
  }

  /// The files named on the command line, then those of `--list`.
  private func inputPaths() throws -> [String] {
    guard let list else { return files }
    let text: String
    do { text = try String(contentsOfFile: list, encoding: .utf8) } catch {
      throw ValidationError("\(list): cannot read the list: \(error.localizedDescription)")
    }
    let listed = text.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }
      .filter { !$0.isEmpty && !$0.hasPrefix("#") }
    guard !(files + listed).isEmpty else { throw ValidationError("\(list): names no video") }
    return files + listed
  }

  /// Where each input's output goes (see the command's discussion).
  private func outputPaths(for inputs: [String]) throws -> [String] {
    let suffix = output.format == .safetensors ? ".safetensors" : ""
    if inputs.count == 1 {
      let name = outputStem(inputs[0]) + suffix
      guard let path = output.output else { return [name] }
      return output.format == .safetensors && isDirectory(path) ? [path + "/" + name] : [path]
    }
    let directory = output.output ?? "."
    let paths = uniqueNames(inputs.map(outputStem)).map { directory + "/" + $0 + suffix }
    // A dry run creates nothing, not even the directory.
    if dryRun { return paths }
    do { try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true) } catch {
      throw ValidationError("\(directory): cannot create the output directory: \(error.localizedDescription)")
    }
    guard isDirectory(directory) else { throw ValidationError("\(directory): several inputs need -o to be a directory") }
    return paths
  }

  private func summary(_ result: VideoEmbedding, destination: String) -> [String: Any] {
    [
      "frames": result.counts.frames, "frames_decoded": result.counts.decoded,
      "frames_encoded": result.counts.encoded, "frames_from_cache": result.counts.fromCache,
      "seconds": (result.counts.seconds * 1000).rounded() / 1000, "output": destination,
      "key": cacheKey(result),
    ]
  }

  private func summaryLine(_ result: VideoEmbedding, destination: String) -> String {
    let c = result.counts
    return "\(result.path): \(c.frames) frames (\(c.encoded) encoded, \(c.fromCache) from cache, "
      + "\(c.decoded) decoded, \(String(format: "%.2f", c.seconds)) s) -> \(destination)  key \(cacheKey(result))"
  }

  /// Recipe and source identifiers shortened for people: `<recipe>/<source sha256>:<stream>`.
  private func cacheKey(_ result: VideoEmbedding) -> String {
    let shown = 12
    let recipe = result.metadata["recipe.id"] ?? ""
    return "\(recipe.prefix(shown))/\(result.source.sha256.prefix(shown)):\(result.source.streamIndex)"
  }
}

extension SamplerFormula: ExpressibleByArgument {}

/// The output name of an input: its file name without the last extension.
private func outputStem(_ path: String) -> String {
  let name = ((path as NSString).lastPathComponent as NSString).deletingPathExtension
  return name.isEmpty ? "video" : name
}

/// `names` with later repeats numbered (`clip`, `clip-2`, ...), so no two outputs collide.
private func uniqueNames(_ names: [String]) -> [String] {
  var used = Set<String>()
  return names.map { name in
    var candidate = name
    var number = 2
    while used.contains(candidate) {
      candidate = "\(name)-\(number)"
      number += 1
    }
    used.insert(candidate)
    return candidate
  }
}

private func isDirectory(_ path: String) -> Bool {
  var directory: ObjCBool = false
  return FileManager.default.fileExists(atPath: path, isDirectory: &directory) && directory.boolValue
}
