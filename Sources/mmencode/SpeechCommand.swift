import ArgumentParser
import Core
import Foundation
import Speech

/// `mmencode speech FILE... -m MODEL -o OUT`: speech of any length, encoded in 30 s windows as it
/// streams from the decoder, then fused once to a fixed number of frames (FastLongSpeech).
struct SpeechCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "speech",
    abstract: "Encode speech of any length and fuse it to a fixed number of frames (FastLongSpeech).",
    discussion: """
      Any audio FFmpeg reads works (WAV, FLAC, MP3, M4A, a video's audio track). It is mixed to \
      mono at 16 kHz and encoded in back-to-back 30 s windows while it is decoded, so memory \
      stays bounded however long the file is. The joined frames are then fused once, down to \
      --target-length frames.

      Models: Qwen2-Audio's audio tower (fusion runs on the pooled frames before its final \
      LayerNorm, 25 per second; `fused` has that LayerNorm applied, as the language model's \
      projector receives it) or a Whisper encoder (fusion runs on last_hidden_state, 50 per second).

      Output arrays: fused [L, D] float32; spans [L, 2] int64, the first and last encoder frame \
      each fused frame covers; span_seconds [L, 2] float64, [start, end) in seconds; with \
      --frames also frames [T0, D], the unfused frames (what `mmencode fuse` takes). Metadata: \
      model, model hash, window count, T0, L, schedule, CTC head (and its hash), sample rate.

      --schedule ladder (steps 400, 200, 100, 50, 25, 12) is FastLongSpeech's short-audio path: \
      it needs a target on the ladder and audio of at most 30 s (one window); longer audio is \
      refused as soon as it is detected. halving, the default, suits any length.

      With several FILEs, -o is a directory that receives one output per file, named after it \
      (talk.mp3 -> talk.mp3.safetensors, or talk.mp3/ with --format npy). A file that fails is reported \
      on stderr and the others go on; the exit status is non-zero if any failed.
      """)

  @Argument(help: "Audio or video files.")
  var files: [String]

  @OptionGroup var model: ModelOptions

  @OptionGroup var density: DensityOptions

  @Option(help: "Fused frames per file (L). Audio with fewer frames is kept unfused.")
  var targetLength = FusionSchedule.defaultTargetLength

  @Option(help: "Fusion schedule: halving (any length) or ladder (at most 30 s, L on the ladder).")
  var schedule: FusionSchedule = .halving

  @Flag(help: "Also write the unfused frames [T0, D] as 'frames'.")
  var frames = false

  @OptionGroup var output: OutputOptions
  @OptionGroup var runtime: RuntimeOptions

  func validate() throws {
    guard output.output != nil else { throw ValidationError("-o/--output is required") }
  }

  func run() throws {
    let display = runtime.start()
    let modelDirectory = try model.directory()
    let speech = try SpeechRun(
      modelDirectory: modelDirectory, ctcHead: density.ctcHead, targetLength: targetLength, schedule: schedule)
    let destinations = try outputPaths(for: files, output: output.output!, format: output.format)
    let metadata = try standardMetadata(modelDirectory: modelDirectory, modelReference: model.model)

    var failed = false
    for (file, destination) in zip(files, destinations) {
      do {
        let result = try speech.run(file: file, keepFrames: frames, progress: display.handler)
        try prepareParent(of: destination)
        try writeOutput(
          result.arrays, metadata: metadata.merging(result.metadata) { $1 }, to: destination, format: output.format)
        display.finish(item: file, summary: result.summary.merging(["output": destination]) { $1 })
      } catch {
        failed = true
        display.interrupt()
        reportFailure(of: file, error)
      }
    }
    if failed { throw ExitCode.failure }
  }

  /// With one input, `-o` is its output; with several, `-o` is a directory of outputs named after
  /// each input's file name (two inputs with the same name are refused up front).
  private func outputPaths(for files: [String], output: String, format: OutputFormat) throws -> [String] {
    guard files.count > 1 else { return [output] }
    var isDirectory: ObjCBool = false
    if FileManager.default.fileExists(atPath: output, isDirectory: &isDirectory), !isDirectory.boolValue {
      throw WeightError.unwritable(path: output, reason: "several inputs need -o to be a directory")
    }
    let suffix = format == .safetensors ? ".safetensors" : ""
    let paths = files.map { (output as NSString).appendingPathComponent(($0 as NSString).lastPathComponent + suffix) }
    var seen: [String: String] = [:]
    for (file, path) in zip(files, paths) {
      if let other = seen.updateValue(file, forKey: path) {
        throw WeightError.unwritable(
          path: path, reason: "both \(other) and \(file) would be written here; pass them in separate runs")
      }
    }
    return paths
  }
}

extension FusionSchedule: ExpressibleByArgument {}

/// Creates the directory an output goes into when it is missing (a `-o DIR` for several inputs
/// appears only once the first output is ready, so a run where every input fails leaves nothing).
func prepareParent(of path: String) throws {
  let parent = (path as NSString).deletingLastPathComponent
  guard !parent.isEmpty, !FileManager.default.fileExists(atPath: parent) else { return }
  do {
    try FileManager.default.createDirectory(atPath: parent, withIntermediateDirectories: true)
  } catch {
    throw WeightError.unwritable(path: path, reason: "cannot create \(parent): \(error.localizedDescription)")
  }
}

func seconds(_ duration: Duration) -> Double {
  let (whole, fraction) = duration.components
  return Double(whole) + Double(fraction) * 1e-18
}
