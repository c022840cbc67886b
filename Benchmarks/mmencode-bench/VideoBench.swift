import CLIP
import Core
import Foundation
import Media
import Video

/// `mmencode-bench video [--minutes M] [--fps F] [--batch-size B] [--threads N] [--work DIR] [--rss [--rss-minutes A,B] [--tiny]]`
///
/// - Throughput: a 640x360, 25 fps H.264 video of M minutes (default 10, made by ffmpeg's
///   testsrc2 at bench time) embedded at F frames per second (default 1) with a ViT-B/32-sized
///   vision tower (openai/clip-vit-base-patch32's config, random weights written by this bench)
///   and a fresh on-disk cache: frames per second end to end, and the share of wall time outside
///   the vision tower; then the same run again over the warm cache, and the speed-up.
/// - `--rss`: peak resident memory of a child process embedding A-minute and B-minute videos
///   (default 1 and 60) at F fps, with the same tower (or `--tiny`: fixtures/models/clip-tiny-a,
///   so the pipeline's own memory is not hidden behind the weights).
///
/// Videos and the model go to `--work DIR` (kept, so later runs reuse them) or a temporary
/// directory (removed at the end). Nothing is committed.
enum VideoBench {
  static func run(_ arguments: [String]) throws {
    func option(_ name: String) -> String? {
      guard let i = arguments.firstIndex(of: name), i + 1 < arguments.count else { return nil }
      return arguments[i + 1]
    }
    if let video = option("--rss-child") {
      try rssChild(video: video, model: option("--model")!, fps: Double(option("--fps")!)!)
      return
    }
    let minutes = Double(option("--minutes") ?? "10")!
    let fps = Double(option("--fps") ?? "1")!
    let batchSize = Int(option("--batch-size") ?? String(VideoEmbedder.defaultBatchSize))!
    Threads.configure(option("--threads").map { Int($0)! })
    let work = try WorkDirectory(option("--work"))
    defer { work.removeIfTemporary() }
    print("threads: \(Threads.count), batch size \(batchSize), work directory \(work.path)")

    let model = try randomViTB32(in: work.path)
    if arguments.contains("--rss") {
      let rssModel = arguments.contains("--tiny") ? tinyModel : model
      let lengths = (option("--rss-minutes") ?? "1,60").split(separator: ",").map { Double($0)! }
      try compareMemory(minutes: lengths, fps: fps, model: rssModel, work: work)
      return
    }
    try throughput(minutes: minutes, fps: fps, batchSize: batchSize, model: model, work: work)
  }

  // MARK: - Throughput and warm store

  private static func throughput(minutes: Double, fps: Double, batchSize: Int, model: String, work: WorkDirectory) throws {
    let video = try syntheticVideo(minutes: minutes, in: work.path)
    let loadStart = ContinuousClock.now
    let embedder = try VideoEmbedder(modelDirectory: model, batchSize: batchSize)
    print("model loaded in \(format(seconds(since: loadStart))) s")
    // A fresh cache each run, so the cold run is cold even in a kept work directory.
    let cacheRoot = work.path + "/cache-\(UUID())"
    defer { try? FileManager.default.removeItem(atPath: cacheRoot) }
    let store = EmbeddingCache(root: cacheRoot)
    let sampling = FrameSampling(formula: .uniform, budget: .fps(fps))

    let cold = try embedder.embed(path: video, sampling: sampling, store: store)
    let c = cold.counts
    let outside = 1 - c.encoderSeconds / c.seconds
    print(
      "cold: \(c.frames) frames of \(format(minutes)) min 640x360 at \(format(fps)) fps in \(format(c.seconds)) s: "
        + "\(format(Double(c.frames) / c.seconds)) frames/s; vision tower \(format(c.encoderSeconds)) s, "
        + "outside it \(format(100 * outside))% of wall time; \(c.decoded) frames decoded")
    let warm = try embedder.embed(path: video, sampling: sampling, store: store)
    let w = warm.counts
    precondition(w.encoded == 0 && warm.embeddings == cold.embeddings, "the warm run recomputed frames")
    print(
      "warm: \(w.fromCache) frames from the store, \(w.encoded) encoded, in \(format(w.seconds)) s: "
        + "\(format(c.seconds / w.seconds))x faster than cold")
  }


  // MARK: - Peak memory

  private static func compareMemory(minutes: [Double], fps: Double, model: String, work: WorkDirectory) throws {
    var peaks: [Double: Int] = [:]
    for length in minutes {
      let video = try syntheticVideo(minutes: length, in: work.path)
      let child = Process()
      child.executableURL = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
      child.arguments = ["video", "--rss-child", video, "--model", model, "--fps", String(fps)]
      let pipe = Pipe()
      child.standardOutput = pipe
      try child.run()
      let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
      child.waitUntilExit()
      guard child.terminationStatus == 0, let line = output.split(separator: "\n").first(where: { $0.hasPrefix("peak_rss_kb ") }),
        let peak = Int(line.split(separator: " ")[1])
      else { throw BenchError.childFailed(output) }
      peaks[length] = peak
      print("\(format(length)) min at \(format(fps)) fps: peak RSS \(peak / 1024) MiB  (\(output.split(separator: "\n").first ?? ""))")
    }
    if let shortest = minutes.min(), let longest = minutes.max(), let low = peaks[shortest], let high = peaks[longest] {
      print("peak RSS \(format(longest)) min / \(format(shortest)) min: \(format(Double(high) / Double(low)))x")
    }
  }

  private static func rssChild(video: String, model: String, fps: Double) throws {
    Threads.configure()
    let embedder = try VideoEmbedder(modelDirectory: model)
    let result = try embedder.embed(path: video, sampling: FrameSampling(formula: .uniform, budget: .fps(fps)))
    var usage = rusage()
    getrusage(RUSAGE_SELF.rawValue, &usage)
    print("\(result.counts.frames) frames, \(result.counts.decoded) decoded, \(format(result.counts.seconds)) s")
    print("peak_rss_kb \(usage.ru_maxrss)")
  }

  // MARK: - Inputs made at bench time

  /// `<dir>/bench-<seconds>s-640x360.mp4`: testsrc2 at 25 fps, H.264 with x264's default GOP
  /// (a keyframe every 250 frames), made once per work directory.
  private static func syntheticVideo(minutes: Double, in directory: String) throws -> String {
    let seconds = Int((minutes * 60).rounded())
    let path = "\(directory)/bench-\(seconds)s-640x360.mp4"
    if FileManager.default.fileExists(atPath: path) { return path }
    let start = ContinuousClock.now
    let ffmpeg = Process()
    ffmpeg.executableURL = URL(fileURLWithPath: "/usr/bin/ffmpeg")
    ffmpeg.arguments = [
      "-nostdin", "-v", "error", "-y", "-f", "lavfi", "-i", "testsrc2=s=640x360:r=25:d=\(seconds)", "-c:v", "libx264",
      "-preset", "veryfast", "-pix_fmt", "yuv420p", path + ".partial.mp4",
    ]
    try ffmpeg.run()
    ffmpeg.waitUntilExit()
    guard ffmpeg.terminationStatus == 0 else { throw BenchError.ffmpegFailed(path) }
    try FileManager.default.moveItem(atPath: path + ".partial.mp4", toPath: path)
    print("made \(path) in \(format(Self.seconds(since: start))) s")
    return path
  }

  /// A `CLIPVisionModelWithProjection` directory with openai/clip-vit-base-patch32's vision
  /// config and preprocessing, and random weights (uniform, small, so activations stay finite).
  private static func randomViTB32(in directory: String) throws -> String {
    let path = directory + "/vit-b32-random"
    if FileManager.default.fileExists(atPath: path + "/" + Checkpoint.singleFileName) { return path }
    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    let config = CLIPVisionConfig()
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
    try encoder.encode(config).write(to: URL(fileURLWithPath: path + "/config.json"))
    try Data(openAIPreprocessorConfig.utf8).write(to: URL(fileURLWithPath: path + "/preprocessor_config.json"))

    var random = SplitMix(seed: 32)
    func uniform(_ name: String, _ shape: [Int], scale: Float = 0.03) -> NamedArray {
      NamedArray(name, Tensor(shape: shape, scalars: (0..<shape.reduce(1, *)).map { _ in scale * random.symmetric() }))
    }
    func constant(_ name: String, _ shape: [Int], _ value: Float) -> NamedArray {
      NamedArray(name, Tensor(repeating: value, shape: shape))
    }
    let (w, m) = (config.hiddenSize, config.intermediateSize)
    let root = "vision_model."
    var arrays = [
      uniform(root + "embeddings.class_embedding", [w]),
      uniform(root + "embeddings.patch_embedding.weight", [w, config.numChannels, config.patchSize, config.patchSize]),
      uniform(root + "embeddings.position_embedding.weight", [config.positionCount, w]),
      constant(root + "pre_layrnorm.weight", [w], 1), constant(root + "pre_layrnorm.bias", [w], 0),
      constant(root + "post_layernorm.weight", [w], 1), constant(root + "post_layernorm.bias", [w], 0),
      uniform("visual_projection.weight", [config.projectionDim, w]),
    ]
    for layer in 0..<config.numHiddenLayers {
      let prefix = root + "encoder.layers.\(layer)."
      for projection in ["q_proj", "k_proj", "v_proj", "out_proj"] {
        arrays.append(uniform(prefix + "self_attn.\(projection).weight", [w, w]))
        arrays.append(uniform(prefix + "self_attn.\(projection).bias", [w]))
      }
      arrays += [
        uniform(prefix + "mlp.fc1.weight", [m, w]), uniform(prefix + "mlp.fc1.bias", [m]),
        uniform(prefix + "mlp.fc2.weight", [w, m]), uniform(prefix + "mlp.fc2.bias", [w]),
      ]
      for norm in ["layer_norm1", "layer_norm2"] {
        arrays += [constant(prefix + norm + ".weight", [w], 1), constant(prefix + norm + ".bias", [w], 0)]
      }
    }
    try writeSafeTensors(arrays, to: path + "/" + Checkpoint.singleFileName)
    return path
  }

  /// openai/clip-vit-base-patch32's preprocessor_config.json.
  private static let openAIPreprocessorConfig = """
    {"crop_size": 224, "do_center_crop": true, "do_normalize": true, "do_resize": true,
     "feature_extractor_type": "CLIPFeatureExtractor",
     "image_mean": [0.48145466, 0.4578275, 0.40821073], "image_std": [0.26862954, 0.26130258, 0.27577711],
     "resample": 3, "size": 224}
    """

  private static let tinyModel: String = {
    var directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    while !FileManager.default.fileExists(atPath: directory.appendingPathComponent("Package.swift").path) {
      directory.deleteLastPathComponent()
    }
    return directory.appendingPathComponent("fixtures/models/clip-tiny-a").path
  }()

  private static func seconds(since start: ContinuousClock.Instant) -> Double {
    let d = ContinuousClock.now - start
    return Double(d.components.seconds) + Double(d.components.attoseconds) * 1e-18
  }

  private static func format(_ v: Double) -> String { String(format: "%.2f", v) }

  private enum BenchError: Error {
    case ffmpegFailed(String)
    case childFailed(String)
  }
}

/// The directory for generated inputs: the one given, or a temporary one removed afterwards.
private struct WorkDirectory {
  let path: String
  let isTemporary: Bool

  init(_ given: String?) throws {
    isTemporary = given == nil
    path = given ?? FileManager.default.temporaryDirectory.appendingPathComponent("mmencode-bench-\(UUID())").path
    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
  }

  func removeIfTemporary() {
    if isTemporary { try? FileManager.default.removeItem(atPath: path) }
  }
}

/// SplitMix64: a small, fast, seeded generator (the weights only need to be finite and varied).
private struct SplitMix {
  var state: UInt64
  init(seed: UInt64) { state = seed }

  /// Uniform in [-1, 1).
  mutating func symmetric() -> Float {
    state &+= 0x9E37_79B9_7F4A_7C15
    var z = state
    z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
    z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
    z ^= z >> 31
    return Float(z >> 40) / Float(1 << 23) - 1
  }
}
