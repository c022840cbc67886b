import ArgumentParser
import Core
import Foundation
import Speech

/// `mmencode fuse FRAMES --target-length L -o OUT`: FastLongSpeech fusion of frames an encoder in
/// another framework produced.
struct FuseCommand: ParsableCommand {
  /// Qwen2-Audio's pooled frame rate, the frames FastLongSpeech fuses.
  static let defaultFrameRate = 25.0

  static let configuration = CommandConfiguration(
    commandName: "fuse",
    abstract: "Fuse encoder frames computed elsewhere to a fixed number of frames (FastLongSpeech).",
    discussion: """
      FRAMES is a .npy file [T, D] (float16, float32 or float64) or a .safetensors file with a \
      'frames' tensor (what `mmencode speech --frames` writes). For FastLongSpeech these are \
      Qwen2-Audio's pooled audio-tower frames before its final LayerNorm.

      Output arrays: fused [L, D] float32, with no LayerNorm applied (apply your encoder's final \
      norm and projector afterwards); spans [L, 2] int64, the first and last input frame each \
      fused frame covers; span_seconds [L, 2] float64, [start, end) in seconds at --frame-rate.

      --schedule ladder needs L on the ladder (400, 200, 100, 50, 25, 12) and at most 30 s of \
      frames at --frame-rate; halving, the default, suits any length.
      """)

  @Argument(help: ArgumentHelp("Frames [T, D]: a .npy file or a .safetensors file with a 'frames' tensor.", valueName: "frames"))
  var framesPath: String

  @Option(help: "Fused frames (L). Inputs with fewer frames are kept as they are.")
  var targetLength: Int

  @OptionGroup var density: DensityOptions

  @Option(help: "Fusion schedule: halving (any length) or ladder (at most 30 s, L on the ladder).")
  var schedule: FusionSchedule = .halving

  @Option(
    help: ArgumentHelp(
      "Frames per second of FRAMES, for span_seconds and the ladder's 30 s limit. The default, 25, "
        + "is Qwen2-Audio's pooled rate; Whisper's last_hidden_state has 50.", valueName: "hz"))
  var frameRate = FuseCommand.defaultFrameRate

  @OptionGroup var output: OutputOptions
  @OptionGroup var runtime: RuntimeOptions

  func validate() throws {
    guard output.output != nil else { throw ValidationError("-o/--output is required") }
    guard frameRate.isFinite, frameRate > 0 else { throw ValidationError("--frame-rate must be a positive number") }
  }

  func run() throws {
    let display = runtime.start()
    try schedule.check(targetLength: targetLength)
    let head = try density.ctcHead.map { try CTCDensityHead(path: $0) }
    do {
      try fuseFrames(head: head, display: display)
    } catch {
      display.interrupt()
      reportFailure(of: framesPath, error)
      throw ExitCode.failure
    }
  }

  private func fuseFrames(head: CTCDensityHead?, display: ProgressDisplay) throws {
    let start = ContinuousClock.now
    let frames = try FramesFile.read(framesPath)
    let (t0, width) = (frames.shape[0], frames.shape[1])
    if let head, head.width != width {
      throw SpeechError.headMismatch(
        path: head.path, reason: "the head takes \(head.width)-wide frames but \(framesPath) holds \(width)-wide frames")
    }
    try schedule.check(seconds: Double(t0) / frameRate, path: framesPath)
    let result = try fuse(frames, targetLength: targetLength, schedule: schedule, density: head ?? UniformDensity())

    let l = result.spans.count
    let arrays = [
      NamedArray("fused", result.frames),
      NamedArray("spans", shape: [l, 2], values: .int64(result.spans.flatMap { [Int64($0.first), Int64($0.last)] })),
      NamedArray(
        "span_seconds", shape: [l, 2],
        values: .float64(result.spans.flatMap { [Double($0.first) / frameRate, Double($0.last + 1) / frameRate] })),
    ]
    var metadata = [
      "mmencode.version": mmencodeVersion,
      "fuse.source": framesPath,
      "fuse.source.sha256": try sha256(file: framesPath),
      "fuse.input_frames": String(t0),
      "fuse.output_frames": String(l),
      "fuse.target_length": String(targetLength),
      "fuse.schedule": schedule.rawValue,
      "fuse.pass_lengths": result.passLengths.map(String.init).joined(separator: ","),
      "fuse.frame_rate": String(frameRate),
      "fuse.ctc_head": head == nil ? "false" : "true",
    ]
    if let ctcHead = density.ctcHead, let head {
      metadata["fuse.ctc_head.path"] = head.path
      metadata["fuse.ctc_head.sha256"] = try sha256Manifest(Checkpoint(path: ctcHead).files)
    }
    try prepareParent(of: output.output!)
    try writeOutput(arrays, metadata: metadata, to: output.output!, format: output.format)
    display.finish(
      item: framesPath,
      summary: ["input_frames": t0, "output_frames": l, "seconds": seconds(ContinuousClock.now - start)])
  }
}
