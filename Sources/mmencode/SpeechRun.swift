import Core
import Foundation
import Speech

/// A speech encoder with its fusion settings, run file by file: what `mmencode speech` does for
/// each input and `mmencode video --speech` does for each video's audio track.
struct SpeechRun {
  let encoder: SpeechEncoder
  let head: CTCDensityHead?
  let targetLength: Int
  let schedule: FusionSchedule
  /// `speech.*` keys that are the same for every file: encoder kind, sample rate, CTC head.
  let metadata: [String: String]

  /// Loads the encoder in `modelDirectory` and the CTC head at `ctcHead`, refusing settings that
  /// could never work (a target off the ladder, a head of another width) before any file is read.
  init(modelDirectory: String, ctcHead: String?, targetLength: Int, schedule: FusionSchedule) throws {
    try schedule.check(targetLength: targetLength)
    encoder = try SpeechEncoder(directory: modelDirectory)
    head = try ctcHead.map { try CTCDensityHead(path: $0) }
    try head?.check(width: encoder.config.width)
    self.targetLength = targetLength
    self.schedule = schedule
    var metadata = [
      "speech.encoder": encoder.config.architecture.rawValue,
      "speech.sample_rate": String(AudioFrontEnd.sampleRate),
    ]
    if let ctcHead, let head {
      metadata["speech.ctc_head.path"] = head.path
      metadata["speech.ctc_head.sha256"] = try sha256Manifest(Checkpoint(path: ctcHead).files)
    }
    self.metadata = metadata
  }

  /// What one file's speech adds to an output.
  struct Output {
    /// `fused`, `spans`, `span_seconds` and, when asked for, the unfused `frames`.
    var arrays: [NamedArray]
    /// ``SpeechRun/metadata`` plus this file's `speech.*` facts.
    var metadata: [String: String]
    /// Counts and timings for the progress display.
    var summary: [String: Any]
  }

  /// Encodes the audio of `file` as it streams and fuses it once.
  func run(file: String, keepFrames: Bool, progress: ProgressHandler?) throws -> Output {
    let start = ContinuousClock.now
    let speech = try encoder.encode(file: file, schedule: schedule, progress: progress)
    let encoded = ContinuousClock.now
    let fused = try encoder.fuse(speech, targetLength: targetLength, schedule: schedule, head: head)
    let fusionSeconds = seconds(ContinuousClock.now - encoded)

    var arrays = fused.arrays
    if keepFrames { arrays.append(NamedArray(FramesFile.tensorName, speech.frames)) }
    var metadata = self.metadata
    for (key, value) in fused.metadata { metadata["speech." + key] = value }
    metadata["speech.source"] = file
    metadata["speech.samples"] = String(speech.sampleCount)
    metadata["speech.pass_lengths"] = fused.passLengths.map(String.init).joined(separator: ",")
    let summary: [String: Any] = [
      "windows": speech.windowCount, "input_frames": fused.inputFrames, "output_frames": fused.spans.count,
      "audio_seconds": Double(speech.sampleCount) / Double(AudioFrontEnd.sampleRate),
      "encode_seconds": seconds(encoded - start), "fusion_seconds": fusionSeconds,
      "peak_buffered_samples": speech.peakBufferedSamples,
    ]
    return Output(arrays: arrays, metadata: metadata, summary: summary)
  }
}
