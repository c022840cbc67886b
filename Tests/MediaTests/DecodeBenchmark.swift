import Foundation
import Media
import Testing

/// Decode throughput at one frame per second, and peak memory, on a video named by
/// `MMENCODE_MEDIA_BENCH` (skipped otherwise). Run in release mode, alone, e.g.:
///
///     ffmpeg -f lavfi -i testsrc2=s=640x360:r=25:d=600 -c:v libx264 -preset veryfast \
///       -pix_fmt yuv420p /tmp/min10.mp4
///     MMENCODE_MEDIA_BENCH=/tmp/min10.mp4 swift test -c release --filter decodeThroughput
///
/// `MMENCODE_MEDIA_BENCH_THREADS` sets the decoder threads (default 1).
@Test(.enabled(if: ProcessInfo.processInfo.environment["MMENCODE_MEDIA_BENCH"] != nil))
func decodeThroughputAtOneFramePerSecond() throws {
  let environment = ProcessInfo.processInfo.environment
  let path = try #require(environment["MMENCODE_MEDIA_BENCH"])
  let threads = Int(environment["MMENCODE_MEDIA_BENCH_THREADS"] ?? "") ?? 1
  // Reset the peak-RSS mark (Linux), so the peak reported is this benchmark's, not the harness's.
  try? "5".write(toFile: "/proc/self/clear_refs", atomically: false, encoding: .utf8)
  let residentBefore = statusKilobytes("VmRSS")
  let clock = ContinuousClock()
  let opened = clock.now
  let reader = try VideoReader(path: path, threads: threads)
  let indexing = opened.duration(to: clock.now)
  // The frame on screen at each whole second.
  let first = reader.index.seconds(at: 0)
  let last = reader.index.seconds(at: reader.index.count - 1)
  let positions = stride(from: first, through: last, by: 1).compactMap { reader.index.position(playedAt: $0) }
  let decoding = clock.now
  var checksum = 0
  for position in positions {
    let frame = try reader.frame(at: position)
    checksum &+= Int(frame.image.pixels[frame.image.pixels.count / 2])
  }
  let elapsed = decoding.duration(to: clock.now)
  let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18
  print(
    """
    decode benchmark: \(path) \(reader.stream.width)x\(reader.stream.height), \(reader.index.count) frames, \
    threads \(threads)
      index scan \(indexing); \(positions.count) frames at 1 fps in \(elapsed) = \
    \(String(format: "%.1f", Double(positions.count) / seconds)) frames/s \
    (\(reader.framesDecoded) decoded, \(reader.repositions) seeks); peak RSS \(statusKilobytes("VmHWM") / 1024) MiB \
    (\(residentBefore / 1024) MiB before opening) \
    (checksum \(checksum))
    """)
  #expect(reader.framesConverted == positions.count)
}

/// A memory figure from /proc/self/status, in KiB (0 when unavailable).
private func statusKilobytes(_ field: String) -> Int {
  guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return 0 }
  let line = status.split(separator: "\n").first { $0.hasPrefix(field + ":") }
  return line.flatMap { Int($0.split(separator: " ").dropFirst().first ?? "") } ?? 0
}

/// Audio decode + resample speed and peak memory on a file named by `MMENCODE_MEDIA_AUDIO_BENCH`
/// (skipped otherwise), read in 30 s chunks at 16 kHz. Memory must not grow with the file's length.
@Test(.enabled(if: ProcessInfo.processInfo.environment["MMENCODE_MEDIA_AUDIO_BENCH"] != nil))
func audioThroughputInThirtySecondChunks() throws {
  let path = try #require(ProcessInfo.processInfo.environment["MMENCODE_MEDIA_AUDIO_BENCH"])
  try? "5".write(toFile: "/proc/self/clear_refs", atomically: false, encoding: .utf8)
  let residentBefore = statusKilobytes("VmRSS")
  let clock = ContinuousClock()
  let start = clock.now
  let reader = try AudioReader(path: path)
  let chunk = 30 * AudioReader.speechSampleRate
  var total = 0
  while let samples = try reader.read(maxSamples: chunk) { total += samples.count }
  let elapsed = start.duration(to: clock.now)
  print(
    """
    audio benchmark: \(path): \(total) samples (\(total / AudioReader.speechSampleRate) s) in \(elapsed); \
    peak RSS \(statusKilobytes("VmHWM") / 1024) MiB (\(residentBefore / 1024) MiB before opening)
    """)
  #expect(total == reader.samplesRead)
}
