import CLIP
import Core
import Foundation

/// `mmencode-bench clip [--seconds S] [--threads N]`: images per second of a ViT-B/32-sized CLIP
/// vision tower (random weights made here, no files) at batch 1 and 16, as a fraction of the
/// GEMM-bound limit, next to PyTorch on the same machine in the same run, and where the time goes.
///
/// The GEMM-bound limit is the model's FLOPs divided by the sgemm rate of its own linear-layer
/// GEMMs run alone (Core's `linear` on the model's shapes, a separate weight matrix per layer as in
/// the model): what the tower would reach if everything but its matrix products were free. The
/// machine is shared, so each round runs the mmencode forward pass, the GEMMs alone, the other ops
/// alone and a PyTorch forward pass back to back, and ratios are medians of per-round ratios.
enum CLIPBench {
  /// openai/clip-vit-base-patch32's vision tower.
  static let config = CLIPVisionConfig(
    hiddenSize: 768, intermediateSize: 3072, projectionDim: 512, numHiddenLayers: 12,
    numAttentionHeads: 12, numChannels: 3, imageSize: 224, patchSize: 32, hiddenAct: .quickGelu,
    layerNormEps: 1e-5)
  static let batchSizes = [1, 16]
  /// Rounds per batch size, at the least; more run until `--seconds` have passed.
  static let minimumRounds = 3

  static func run(_ arguments: [String]) throws {
    var seconds = 10.0
    var threads: Int? = nil
    var rest = arguments[...]
    while let flag = rest.popFirst() {
      switch (flag, rest.popFirst()) {
      case ("--seconds", let value?) where Double(value) != nil: seconds = Double(value)!
      case ("--threads", let value?) where Int(value) != nil: threads = Int(value)!
      default:
        print("usage: mmencode-bench clip [--seconds S] [--threads N]")
        return
      }
    }
    Threads.configure(threads)
    let c = config
    print(
      "CLIP vision tower, ViT-B/32 sizes (\(c.imageSize) px, patch \(c.patchSize), width "
        + "\(c.hiddenSize), \(c.numHiddenLayers) layers, \(c.numAttentionHeads) heads, MLP "
        + "\(c.intermediateSize), projection \(c.projectionDim)), random float32 weights; "
        + "\(Threads.count) threads on \(ProcessInfo.processInfo.activeProcessorCount) cores, "
        + "load average \(loadAverage())")
    let encoder = try CLIPVisionEncoder(config: c, source: RandomWeights(seed: 1))
    let flops = modelFLOPs(config: c)
    print(String(format: "model: %.2f GFLOP per image", flops / 1e9))
    let torch = TorchBaseline(config: c, threads: Threads.count)
    if let torch {
      print("PyTorch \(torch.version), \(torch.threads) threads, \(torch.attention) attention")
    } else {
      print("PyTorch not available (no python with torch and transformers)")
    }

    for batch in batchSizes {
      let pixels = randomTensor([batch, c.numChannels, c.imageSize, c.imageSize], seed: 2)
      let gemms = GEMMPass(config: c, batch: batch)
      let others = OtherOpsPass(config: c, batch: batch)
      _ = try encoder.encode(pixels: pixels)
      gemms.run()
      var rounds: [Round] = []
      let start = now()
      while rounds.count < minimumRounds || now() - start < seconds {
        let forward = try timed { _ = try encoder.encode(pixels: pixels) }
        let gemm = timed { gemms.run() }
        let parts = others.run()
        rounds.append(
          Round(forward: forward, gemm: gemm, parts: parts, torch: torch?.forward(batch: batch)))
      }
      report(rounds, batch: batch, modelFLOPs: flops * Double(batch), gemmFLOPs: gemms.flops)
    }
  }

  // MARK: - Reporting

  /// One round's measurements: wall and CPU seconds of a forward pass, and the same batch's GEMMs
  /// alone, other ops alone, and PyTorch forward pass.
  struct Round {
    let forward: Timing
    let gemm: Timing
    let parts: [(name: String, seconds: Double)]
    let torch: Timing?
  }

  /// Prints one batch size's results; `modelFLOPs` are the whole batch's, `gemmFLOPs` those of
  /// the GEMMs timed alone.
  static func report(_ rounds: [Round], batch: Int, modelFLOPs: Double, gemmFLOPs: Double) {
    // GEMM-bound time of a forward pass: the model's FLOPs at the rate of its GEMMs.
    func bound(_ gemmSeconds: Double) -> Double { modelFLOPs / (gemmFLOPs / gemmSeconds) }
    let forward = median(rounds.map(\.forward.wall))
    let gemm = median(rounds.map(\.gemm.wall))
    let fraction = median(rounds.map { bound($0.gemm.wall) / $0.forward.wall })
    let cpuFraction = median(rounds.map { bound($0.gemm.cpu) / $0.forward.cpu })
    let cpu = median(rounds.map(\.forward.cpu))
    print(
      String(
        format:
          "batch %2d: %6.2f images/s (%.3f s per batch, %.2f CPU-s per image), %d rounds; GEMMs "
          + "alone %.3f s = %.1f GFLOP/s -> GEMM-bound %.2f images/s; %.0f%% of the limit "
          + "(%.0f%% by CPU time)",
        batch, Double(batch) / forward, forward, cpu / Double(batch), rounds.count, gemm,
        gemmFLOPs / gemm / 1e9, Double(batch) / bound(gemm), 100 * fraction, 100 * cpuFraction))
    let names = rounds[0].parts.map(\.name)
    let shares = names.indices.map { i in
      median(rounds.map { $0.parts[i].seconds / $0.forward.wall })
    }
    let gemmShare = median(rounds.map { $0.gemm.wall / $0.forward.wall })
    let rest = max(0, 1 - gemmShare - shares.reduce(0, +))
    let labels: [String] = ["GEMMs"] + names + ["rest (embeddings, copies, page faults)"]
    let values: [Double] = [gemmShare] + shares + [rest]
    let breakdown = zip(labels, values).map { String(format: "%@ %.0f%%", $0, 100 * $1) }
    print("          time: " + breakdown.joined(separator: ", "))
    let torchRounds = rounds.compactMap { round in round.torch.map { (round.forward, $0) } }
    guard !torchRounds.isEmpty else { return }
    let torchWall = median(torchRounds.map(\.1.wall))
    print(
      String(
        format: "          PyTorch: %6.2f images/s (%.3f s per batch, %.2f CPU-s per image); "
          + "mmencode is %.2fx as fast",
        Double(batch) / torchWall, torchWall, median(torchRounds.map(\.1.cpu)) / Double(batch),
        median(torchRounds.map { $0.1.wall / $0.0.wall })))
  }

  // MARK: - What is timed

  /// Multiply-add FLOPs (2 per multiply-add) of one image through the tower.
  static func modelFLOPs(config c: CLIPVisionConfig) -> Double {
    let (w, i) = (Double(c.hiddenSize), Double(c.intermediateSize))
    let patches = Double(c.patchesPerSide * c.patchesPerSide)
    let t = Double(c.positionCount)
    let patchEmbedding = 2 * patches * Double(c.numChannels * c.patchSize * c.patchSize) * w
    let projections = 2 * t * w * w * 4  // q, k, v, out
    let mlp = 2 * t * w * i * 2  // fc1, fc2
    let attention = 2 * t * t * w * 2  // QKᵀ and PV over all heads
    let layers = Double(c.numHiddenLayers) * (projections + mlp + attention)
    return patchEmbedding + layers + 2 * w * Double(c.projectionDim)
  }

  /// The linear-layer GEMMs of one forward pass, each with its own weight matrix as in the model
  /// (so at small batches the weights stream from memory as they do there).
  struct GEMMPass {
    private let work: [(input: Tensor, weights: [Tensor])]
    /// Multiply-add FLOPs of one pass.
    let flops: Double

    init(config c: CLIPVisionConfig, batch: Int) {
      let (w, i, layers) = (c.hiddenSize, c.intermediateSize, c.numHiddenLayers)
      let rows = batch * c.positionCount
      let patchSize = c.numChannels * c.patchSize * c.patchSize
      // (rows, in, out, how many per forward pass)
      let shapes = [
        (batch * (c.positionCount - 1), patchSize, w, 1),  // patch embedding
        (rows, w, w, 4 * layers),  // q, k, v, out projections
        (rows, w, i, layers),  // fc1
        (rows, i, w, layers),  // fc2
        (batch, w, c.projectionDim, 1),  // visual projection
      ]
      flops = shapes.reduce(0) { total, shape in
        total + 2 * Double(shape.0 * shape.1 * shape.2 * shape.3)
      }
      work = shapes.map { rows, inFeatures, outFeatures, count in
        (
          CLIPBench.randomTensor([rows, inFeatures], seed: 3),
          (0..<count).map { CLIPBench.randomTensor([outFeatures, inFeatures], seed: UInt64($0)) }
        )
      }
    }

    func run() {
      for (input, weights) in work {
        for weight in weights { _ = linear(input, weight: weight) }
      }
    }
  }

  /// The forward pass's other ops on their real shapes and counts, timed per kind.
  struct OtherOpsPass {
    let config: CLIPVisionConfig
    let hidden: Tensor
    let other: Tensor
    let intermediate: Tensor
    let ones: Tensor
    let zeros: Tensor

    init(config c: CLIPVisionConfig, batch: Int) {
      config = c
      hidden = CLIPBench.randomTensor([batch, c.positionCount, c.hiddenSize], seed: 5)
      other = CLIPBench.randomTensor([batch, c.positionCount, c.hiddenSize], seed: 6)
      intermediate = CLIPBench.randomTensor([batch, c.positionCount, c.intermediateSize], seed: 7)
      ones = Tensor(repeating: 1, shape: [c.hiddenSize])
      zeros = Tensor(repeating: 0, shape: [c.hiddenSize])
    }

    func run() -> [(name: String, seconds: Double)] {
      let c = config
      let layers = c.numHiddenLayers
      func repeated(_ count: Int, _ body: () -> Void) -> Double {
        CLIPBench.timed { for _ in 0..<count { body() } }.wall
      }
      return [
        (
          "attention (QKᵀ, softmax, PV)",
          repeated(layers) {
            _ = attention(query: hidden, key: other, value: hidden, heads: c.numAttentionHeads)
          }
        ),
        (
          "layer norms",
          repeated(2 * layers + 1) {
            _ = layerNorm(hidden, weight: ones, bias: zeros, eps: Float(c.layerNormEps))
          }
        ),
        ("activation", repeated(layers) { _ = quickGelu(intermediate) }),
        ("residual adds", repeated(2 * layers) { _ = add(hidden, other) }),
      ]
    }
  }

  // MARK: - PyTorch

  /// transformers' CLIPVisionModelWithProjection in a Python child process
  /// (torch_clip_baseline.py), run one forward pass at a time.
  final class TorchBaseline {
    let version: String
    let threads: Int
    let attention: String
    private let process: Process
    private let requests: FileHandle
    private let replies: FileHandle
    private var buffer = Data()

    /// The script beside this benchmark's sources.
    static let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
      .deletingLastPathComponent().appendingPathComponent("torch_clip_baseline.py").path

    /// Starts the baseline with the first Python that has torch and transformers, or returns nil.
    init?(config: CLIPVisionConfig, threads: Int) {
      let environment = ProcessInfo.processInfo.environment
      let pythons = [environment["MMENCODE_PYTHON"], "/tmp/venv/bin/python", "/usr/bin/python3"]
        .compactMap { $0 }.filter { FileManager.default.isExecutableFile(atPath: $0) }
      guard FileManager.default.fileExists(atPath: Self.script),
        let json = try? JSONEncoder().encode(config),
        let (process, requests, replies, setup) = pythons.lazy.compactMap({ python in
          Self.start(
            python,
            [Self.script, "--config", String(decoding: json, as: UTF8.self), "--threads", String(threads)])
        }).first,
        let version = setup["torch"] as? String
      else { return nil }
      self.process = process
      self.requests = requests
      self.replies = replies
      self.version = version
      self.threads = setup["threads"] as? Int ?? 0
      self.attention = setup["attention"] as? String ?? "?"
    }

    /// Launches the script and reads its setup line; nil if it does not start or dies first.
    private static func start(_ python: String, _ arguments: [String])
      -> (Process, FileHandle, FileHandle, [String: Any])?
    {
      let process = Process()
      process.executableURL = URL(fileURLWithPath: python)
      process.arguments = arguments
      let (input, output) = (Pipe(), Pipe())
      process.standardInput = input
      process.standardOutput = output
      process.standardError = FileHandle.nullDevice
      guard (try? process.run()) != nil else { return nil }
      var pending = Data()
      guard let setup = readLine(output.fileHandleForReading, &pending), pending.isEmpty else {
        process.terminate()
        return nil
      }
      return (process, input.fileHandleForWriting, output.fileHandleForReading, setup)
    }

    deinit {
      try? requests.close()
      process.waitUntilExit()
    }

    /// Wall and CPU seconds of one PyTorch forward pass over `batch` images.
    func forward(batch: Int) -> Timing? {
      guard (try? requests.write(contentsOf: Data("\(batch)\n".utf8))) != nil,
        let reply = readReply(), let wall = reply["wall"] as? Double,
        let cpu = reply["cpu"] as? Double
      else { return nil }
      return Timing(wall: wall, cpu: cpu)
    }

    private func readReply() -> [String: Any]? { Self.readLine(replies, &buffer) }

    /// The next line of `handle` as a JSON object, keeping any bytes after it in `buffer`.
    private static func readLine(_ handle: FileHandle, _ buffer: inout Data) -> [String: Any]? {
      while true {
        if let newline = buffer.firstIndex(of: UInt8(ascii: "\n")) {
          let line = buffer[buffer.startIndex..<newline]
          defer { buffer.removeSubrange(buffer.startIndex...newline) }
          return (try? JSONSerialization.jsonObject(with: line)) as? [String: Any]
        }
        let chunk = handle.availableData
        if chunk.isEmpty { return nil }  // the child exited
        buffer.append(chunk)
      }
    }
  }

  // MARK: - Helpers

  struct Timing {
    let wall: Double
    /// Process CPU time (user and system, every thread), which the machine's other load does not
    /// inflate the way it inflates wall time.
    let cpu: Double
  }

  static func timed(_ body: () throws -> Void) rethrows -> Timing {
    let (wall, cpu) = (now(), cpuSeconds())
    try body()
    return Timing(wall: now() - wall, cpu: cpuSeconds() - cpu)
  }

  static func now() -> Double { Double(DispatchTime.now().uptimeNanoseconds) / 1e9 }

  static func cpuSeconds() -> Double {
    var usage = rusage()
    getrusage(RUSAGE_SELF.rawValue, &usage)
    func seconds(_ t: timeval) -> Double { Double(t.tv_sec) + Double(t.tv_usec) / 1e6 }
    return seconds(usage.ru_utime) + seconds(usage.ru_stime)
  }

  static func median(_ values: [Double]) -> Double { values.sorted()[values.count / 2] }

  static func loadAverage() -> String {
    var loads = [Double](repeating: 0, count: 3)
    return getloadavg(&loads, 3) == 3 ? String(format: "%.1f", loads[0]) : "?"
  }

  // MARK: - Random weights

  /// Uniform values in [-1, 1) times `scale`, from a xorshift generator: fast enough for 88M
  /// parameters.
  static func randomTensor(_ shape: [Int], seed: UInt64, scale: Float = 1) -> Tensor {
    var state = seed &* 0x9E37_79B9_7F4A_7C15 | 1
    return Tensor(uninitializedShape: shape) { buffer in
      for i in 0..<buffer.count {
        state ^= state << 13
        state ^= state >> 7
        state ^= state << 17
        buffer[i] = (Float(state >> 40) / Float(1 << 24) * 2 - 1) * scale
      }
    }
  }

  /// Random weights under checkpoint names: layer-norm weights 1, biases 0, everything else
  /// uniform within PyTorch's fan-in bound, so activations keep a realistic scale.
  struct RandomWeights: CLIPWeightSource {
    let seed: UInt64

    func scoped(_ component: String) -> RandomWeights {
      // FNV-1a of the path: each tensor gets its own stream, the same in every run.
      RandomWeights(
        seed: component.utf8.reduce(seed ^ 0xCBF2_9CE4_8422_2325) {
          ($0 ^ UInt64($1)) &* 0x100_0000_01B3
        })
    }

    func callAsFunction(_ name: String, shape: [Int]) throws -> Tensor {
      if name == "bias" { return Tensor(repeating: 0, shape: shape) }
      if name == "weight" && shape.count == 1 { return Tensor(repeating: 1, shape: shape) }
      let fanIn = shape.count > 1 ? shape.dropFirst().reduce(1, *) : shape[0]
      return CLIPBench.randomTensor(shape, seed: seed, scale: 1 / Float(fanIn).squareRoot())
    }
  }
}
