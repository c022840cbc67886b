import Core
import Foundation
import Speech

/// `mmencode-bench speech-long [--minutes M] [--model DIR] [--ctc-head FILE|none] [--threads N] [--keep]`
///
/// Long audio end to end through the `mmencode` executable built next to this one
/// (`swift build -c release --product mmencode --product mmencode-bench`):
/// 1. makes a 1-minute and an M-minute (default 60) MP3 in a temporary directory by looping
///    fixtures/media/speech.wav with ffmpeg (never committed; `--keep` leaves them there);
/// 2. runs `mmencode speech FILE --frames --progress bar` on each (default model: the tiny
///    Qwen2-Audio fixture with its CTC head), reporting wall time and the child's peak RSS from
///    `wait4`, and checks memory is bounded: the long run's peak within 1.5x the 1-minute peak plus
///    the frames themselves (T0 x D floats);
/// 3. shows what the progress bar drew (redraw count and final state);
/// 4. times fusion of the long run's own frames (T0 = 25 per second, e.g. 90,000 for an hour) to
///    750, with density 1 and with the CTC head, best of 3.
enum SpeechLongBench {
  static func run(_ arguments: [String]) throws {
    func option(_ name: String, _ fallback: String) -> String {
      guard let i = arguments.firstIndex(of: name), i + 1 < arguments.count else { return fallback }
      return arguments[i + 1]
    }
    let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
      .appendingPathComponent("../..").standardized.path
    let minutes = Int(option("--minutes", "60"))!
    let model = option("--model", root + "/fixtures/models/qwen2audio-tiny")
    let headOption = option("--ctc-head", root + "/fixtures/models/ctc-head-qwen2audio-tiny")
    let head = headOption == "none" ? nil : headOption
    let threads = option("--threads", String(ProcessInfo.processInfo.activeProcessorCount))
    let executable = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
      .deletingLastPathComponent().appendingPathComponent("mmencode").path
    guard FileManager.default.isExecutableFile(atPath: executable) else {
      throw BenchError("no mmencode next to this benchmark (\(executable)); build both products")
    }
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("mmencode-speech-long-\(getpid())")
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    defer { if !arguments.contains("--keep") { try? FileManager.default.removeItem(at: directory) } }
    print("model \(model), CTC head \(head ?? "none"), threads \(threads), files in \(directory.path)")

    var runs: [Run] = []
    for seconds in [60, minutes * 60] {
      let audio = directory.appendingPathComponent("speech-\(seconds)s.mp3").path
      let start = ContinuousClock.now
      try loop(root + "/fixtures/media/speech.wav", seconds: seconds, into: audio)
      print("made \(seconds) s of MP3 in \(format(elapsed(since: start))) s")
      let output = directory.appendingPathComponent("speech-\(seconds)s.safetensors").path
      let progress = directory.appendingPathComponent("progress-\(seconds)s.txt").path
      var command = [audio, "-m", model, "--frames", "-o", output, "--progress", "bar", "--threads", threads]
      if let head { command += ["--ctc-head", head] }
      let child = try spawn(executable, ["speech"] + command, stderr: progress)
      guard child.status == 0 else {
        throw BenchError("mmencode speech exited with \(child.status); see \(progress)")
      }
      let file = try SafeTensorsFile(path: output)
      let frames = try file.tensor("frames")
      let run = Run(seconds: seconds, wall: child.wall, peakBytes: child.peakBytes, frames: frames, metadata: file.metadata)
      runs.append(run)
      let bar = try String(contentsOfFile: progress, encoding: .utf8)
      let draws = bar.components(separatedBy: "\r").dropFirst()
      let last = draws.last.map { $0.replacingOccurrences(of: "\u{1B}[2K", with: "").trimmingCharacters(in: .whitespacesAndNewlines) } ?? ""
      print(
        "\(seconds) s: \(format(run.wall)) s wall, peak RSS \(megabytes(run.peakBytes)), "
          + "\(run.metadata["speech.window_count"] ?? "?") windows, T0 \(frames.shape[0]) x D \(frames.shape[1]) "
          + "(\(megabytes(run.framesBytes)) of frames), L \(run.metadata["speech.output_frames"] ?? "?")")
      print("  progress bar: \(draws.count) redraws, last: \(last)")
    }

    let (short, long) = (runs[0], runs[1])
    let bound = Int(1.5 * Double(short.peakBytes)) + long.framesBytes
    print(
      "memory: \(megabytes(long.peakBytes)) for \(long.seconds) s vs \(megabytes(short.peakBytes)) for \(short.seconds) s"
        + " (ratio \(format(Double(long.peakBytes) / Double(short.peakBytes)))); bound 1.5x + frames = \(megabytes(bound)):"
        + (long.peakBytes <= bound ? " bounded" : " EXCEEDED"))

    let frames = long.frames
    let target = FusionSchedule.defaultTargetLength
    let uniform = try best(of: 3) { _ = try fuse(frames, targetLength: target) }
    print("fusion \(frames.shape[0]) -> \(target) (D \(frames.shape[1])), density 1: \(format(uniform)) s")
    if let head {
      let density = try CTCDensityHead(path: head)
      let headed = try best(of: 3) { _ = try fuse(frames, targetLength: target, density: density) }
      print("fusion \(frames.shape[0]) -> \(target) (D \(frames.shape[1])), CTC head: \(format(headed)) s")
    }
  }

  private struct Run {
    var seconds: Int
    var wall: Double
    var peakBytes: Int
    var frames: Tensor
    var metadata: [String: String]
    var framesBytes: Int { frames.count * MemoryLayout<Float>.size }
  }

  struct BenchError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
  }

  /// `seconds` of `source` played in a loop, as mono MP3.
  private static func loop(_ source: String, seconds: Int, into path: String) throws {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/ffmpeg")
    process.arguments = [
      "-nostdin", "-hide_banner", "-loglevel", "error", "-y", "-stream_loop", "-1", "-i", source,
      "-t", String(seconds), "-ac", "1", "-c:a", "libmp3lame", "-b:a", "48k", path,
    ]
    try process.run()
    process.waitUntilExit()
    guard process.terminationStatus == 0 else { throw BenchError("ffmpeg failed making \(path)") }
  }

  /// Runs `executable arguments` with stderr to `stderr`, returning its exit status, wall time and
  /// peak resident set size (Linux reports `ru_maxrss` in KiB).
  private static func spawn(_ executable: String, _ arguments: [String], stderr: String) throws
    -> (status: Int32, wall: Double, peakBytes: Int)
  {
    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
    posix_spawn_file_actions_addopen(&actions, 2, stderr, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
    let argv = ([executable] + arguments).map { strdup($0) } + [nil]
    defer { argv.forEach { free($0) } }
    let start = ContinuousClock.now
    var pid: pid_t = 0
    let spawned = posix_spawn(&pid, executable, &actions, nil, argv, environ)
    guard spawned == 0 else { throw BenchError("cannot start \(executable): \(String(cString: strerror(spawned)))") }
    var status: Int32 = 0
    var usage = rusage()
    while wait4(pid, &status, 0, &usage) < 0 && errno == EINTR {}
    let exited = status & 0x7f == 0
    return (exited ? (status >> 8) & 0xff : -1, elapsed(since: start), usage.ru_maxrss * 1024)
  }

  private static func best(of runs: Int, _ body: () throws -> Void) throws -> Double {
    var times: [Double] = []
    for _ in 0..<runs {
      let start = ContinuousClock.now
      try body()
      times.append(elapsed(since: start))
    }
    return times.min()!
  }

  private static func elapsed(since start: ContinuousClock.Instant) -> Double {
    let d = ContinuousClock.now - start
    return Double(d.components.seconds) + Double(d.components.attoseconds) * 1e-18
  }

  private static func format(_ v: Double) -> String { String(format: "%.3f", v) }
  private static func megabytes(_ bytes: Int) -> String { String(format: "%.1f MB", Double(bytes) / 1e6) }
}
