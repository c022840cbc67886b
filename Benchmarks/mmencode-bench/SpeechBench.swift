import Core
import Foundation
import Speech

/// `mmencode-bench speech [--seconds S] [--frames T] [--target L] [--python PATH] [--with-head]`
///
/// - log-mel of S seconds (default 600) at 80 and 128 bins, best of 3, and, when `--python` names
///   an interpreter with transformers, the HF WhisperFeatureExtractor on the same length in the
///   same run (fixtures/bench_hf_logmel.py), with the speed-up over each of its code paths;
/// - fusion of T frames (default 90,000, width 1280) to L (default 750) with density 1, and with
///   `--with-head` a full-size FastLongSpeech-shaped CTC head (1280 → 4096 → 10001, random weights).
enum SpeechBench {
  static func run(_ arguments: [String]) throws {
    func option(_ name: String, _ fallback: String) -> String {
      guard let i = arguments.firstIndex(of: name), i + 1 < arguments.count else { return fallback }
      return arguments[i + 1]
    }
    let seconds = Int(option("--seconds", "600"))!
    let frameCount = Int(option("--frames", "90000"))!
    let target = Int(option("--target", "750"))!
    let python = option("--python", "")
    Threads.configure()
    print("threads: \(Threads.count)")

    let samples = syntheticAudio(seconds: seconds)
    for bins in [80, 128] {
      let extractor = LogMelSpectrogram(melBins: bins)
      let ours = best(of: 3) {
        samples.withUnsafeBufferPointer { all in
          for start in stride(from: 0, to: all.count, by: AudioFrontEnd.samplesPerWindow) {
            let end = min(start + AudioFrontEnd.samplesPerWindow, all.count)
            _ = extractor(UnsafeBufferPointer(rebasing: all[start..<end]))
          }
        }
      }
      print("log-mel \(bins) bins, \(seconds) s of audio: mmencode \(ours.text)")
      if !python.isEmpty, let hf = try huggingFaceTimes(python: python, seconds: seconds, bins: bins) {
        for (path, time) in [("numpy", hf.numpy), ("torch", hf.torch)] {
          print(
            "  HF \(path) path \(time.text): mmencode is \(format(time.wall / ours.wall))x faster"
              + " (wall), \(format(time.cpu / ours.cpu))x (CPU)")
        }
      }
    }

    let width = 1280
    let frames = syntheticFrames(count: frameCount, width: width)
    let uniform = best(of: 3) { _ = try! fuse(frames, targetLength: target) }
    print("fusion \(frameCount) -> \(target) frames (D \(width)), density 1: \(uniform.text)")
    if arguments.contains("--with-head") {
      let start = ContinuousClock.now
      let head = syntheticHead(width: width, hidden: 4096, classes: 10001)
      print("full-size CTC head folded in \(format(elapsed(since: start))) s")
      let headed = best(of: 1) { _ = try! fuse(frames, targetLength: target, density: head) }
      print("fusion \(frameCount) -> \(target) frames (D \(width)), CTC head 1280->10001: \(headed.text)")
    }
  }

  /// Best wall time and best process CPU time (all threads) over `runs` runs, in seconds. On a
  /// shared machine the CPU time is the steadier measure of the work done.
  private static func best(of runs: Int, _ body: () -> Void) -> Timing {
    let times = (0..<runs).map { _ -> Timing in
      let (start, cpu) = (ContinuousClock.now, processorSeconds())
      body()
      return Timing(wall: elapsed(since: start), cpu: processorSeconds() - cpu)
    }
    return Timing(wall: times.map(\.wall).min()!, cpu: times.map(\.cpu).min()!)
  }

  struct Timing {
    var wall: Double
    var cpu: Double
    var text: String { "\(format(wall)) s wall, \(format(cpu)) s CPU" }
  }

  private static func processorSeconds() -> Double {
    var usage = rusage()
    getrusage(RUSAGE_SELF.rawValue, &usage)
    func seconds(_ t: timeval) -> Double { Double(t.tv_sec) + Double(t.tv_usec) * 1e-6 }
    return seconds(usage.ru_utime) + seconds(usage.ru_stime)
  }

  private static func elapsed(since start: ContinuousClock.Instant) -> Double {
    let d = ContinuousClock.now - start
    return Double(d.components.seconds) + Double(d.components.attoseconds) * 1e-18
  }

  private static func format(_ v: Double) -> String { String(format: "%.3f", v) }

  /// A sweeping tone plus noise (deterministic; the timing does not depend on the content).
  private static func syntheticAudio(seconds: Int) -> [Float] {
    var state: UInt32 = 1
    let rate = Double(AudioFrontEnd.sampleRate)
    return (0..<(seconds * AudioFrontEnd.sampleRate)).map { i in
      state = state &* 1_664_525 &+ 1_013_904_223
      let t = Double(i) / rate
      let noise = Double(state >> 8) / Double(1 << 24) - 0.5
      return Float(0.3 * sin(2 * .pi * (200 + 20 * t.truncatingRemainder(dividingBy: 30)) * t) + 0.04 * noise)
    }
  }

  /// Speech-like frames: a slowly drifting random walk, so neighbours are similar.
  private static func syntheticFrames(count: Int, width: Int) -> Tensor {
    var state: UInt32 = 7
    func noise() -> Float {
      state = state &* 1_664_525 &+ 1_013_904_223
      return Float(state >> 8) / Float(1 << 24) - 0.5
    }
    var walk = [Float](repeating: 0, count: width)
    return Tensor(uninitializedShape: [count, width]) { out in
      for t in 0..<count {
        for c in 0..<width {
          walk[c] = 0.9 * walk[c] + noise()
          out[t * width + c] = walk[c]
        }
      }
    }
  }

  private static func syntheticHead(width: Int, hidden: Int, classes: Int) -> CTCDensityHead {
    var state: UInt32 = 11
    func random(_ shape: [Int], scale: Float) -> Tensor {
      Tensor(uninitializedShape: shape) { out in
        for i in 0..<out.count {
          state = state &* 1_664_525 &+ 1_013_904_223
          out[i] = scale * (Float(state >> 8) / Float(1 << 24) - 0.5)
        }
      }
    }
    return CTCDensityHead(
      path: "synthetic",
      layerNorm: (Tensor(repeating: 1, shape: [width]), Tensor(repeating: 0, shape: [width])),
      projector: (random([hidden, width], scale: 0.1), random([hidden], scale: 0.1)),
      linear: random([classes, hidden], scale: 0.1))
  }

  /// Runs fixtures/bench_hf_logmel.py with `python`; nil if it fails (the reason goes to stderr).
  private static func huggingFaceTimes(python: String, seconds: Int, bins: Int) throws -> (numpy: Timing, torch: Timing)? {
    let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
      .appendingPathComponent("../../fixtures/bench_hf_logmel.py").standardized.path
    let process = Process()
    process.executableURL = URL(fileURLWithPath: python)
    process.arguments = [script, String(seconds), String(bins), "3"]
    let pipe = Pipe()
    process.standardOutput = pipe
    try process.run()
    let data = pipe.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    guard process.terminationStatus == 0,
      let line = String(data: data, encoding: .utf8)?.split(separator: "\n").last,
      let json = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
      let numpy = json["numpy_path"] as? [Double], let torch = json["torch_path"] as? [Double]
    else {
      FileHandle.standardError.write(Data("HF timing failed (exit \(process.terminationStatus))\n".utf8))
      return nil
    }
    return (Timing(wall: numpy[0], cpu: numpy[1]), Timing(wall: torch[0], cpu: torch[1]))
  }
}
