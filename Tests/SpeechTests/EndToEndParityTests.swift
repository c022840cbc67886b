import Core
import Foundation
import Speech
import TestSupport
import Testing

/// fixtures/reference/speech-e2e/<name>.
private func e2e(_ name: String) -> String { Repository.fixture("reference/speech-e2e/\(name)") }

/// The one call from a media file to fused speech (what `mmencode video --speech` uses) matches the
/// end-to-end reference (ffmpeg CLI samples, transformers encoder, NumPy fusion, final LayerNorm)
/// within 1e-4, the issue's bound; the spans are identical.
@Test func encodeAndFuseMatchesTheReference() throws {
  let reference = try SafeTensorsFile(path: e2e("long_speech_qwen2audio.safetensors"))
  let target = try #require(reference.metadata["target_head"].flatMap { Int($0) })
  let encoder = try SpeechEncoder(directory: Fixtures.model("qwen2audio-tiny"))
  let head = try CTCDensityHead(path: Fixtures.model("ctc-head-qwen2audio-tiny"))
  let fused = try encoder.encodeAndFuse(file: e2e("long_speech.m4a"), targetLength: target, head: head)
  expectClose(fused.fused, try reference.tensor("fused_head"), tolerance: 1e-4, "fused")
  let spans = try reference.array("spans_head")
  #expect(spans.shape == [fused.spans.count, 2])
  #expect(spans.values == .int64(fused.spans.flatMap { [Int64($0.first), Int64($0.last)] }))
  #expect(fused.windowCount == 2 && fused.inputFrames == 982 && fused.usedDensityHead)
  #expect(fused.passLengths == (try FusionSchedule.halving.lengths(from: 982, to: target)))
}

/// The target, the schedule and the head are checked before the file is opened.
@Test func encodeAndFuseChecksItsRequestFirst() throws {
  let encoder = try SpeechEncoder(directory: Fixtures.model("whisper-tiny"))
  let missing = "/nonexistent/audio.wav"
  #expect(throws: SpeechError.invalidTargetLength(0)) {
    try encoder.encodeAndFuse(file: missing, targetLength: 0)
  }
  #expect(throws: SpeechError.targetNotOnLadder(target: 150, ladder: FusionSchedule.ladderLengths)) {
    try encoder.encodeAndFuse(file: missing, targetLength: 150, schedule: .ladder)
  }
  let head = try CTCDensityHead(path: Fixtures.model("ctc-head-qwen2audio-tiny"))
  let error = #expect(throws: SpeechError.self) { try encoder.encodeAndFuse(file: missing, head: head) }
  guard case .headMismatch(let path, _) = error else {
    Issue.record("expected a head mismatch, got \(String(describing: error))")
    return
  }
  #expect(path == head.path)
}

/// The ladder stops at the first sample past one window: only the first window is ever encoded.
@Test func theLadderStopsAtTheSecondWindow() throws {
  let encoder = try SpeechEncoder(directory: Fixtures.model("qwen2audio-tiny"))
  let reports = ReportLog()
  let file = e2e("long_speech.m4a")
  #expect(throws: SpeechError.ladderNeedsOneWindow(path: file)) {
    try encoder.encodeAndFuse(file: file, targetLength: 100, schedule: .ladder, progress: reports.handler)
  }
  #expect(reports.all.map(\.completed) == [0, 1])
}
