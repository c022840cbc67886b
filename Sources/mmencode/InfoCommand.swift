import ArgumentParser
import Foundation
import Media

/// `mmencode info FILE...`: what each media file holds, including frame counts from a packet scan.
struct InfoCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "info",
    abstract: "Show container, streams, frame counts, frame rate mode, rotation and colour tags.",
    discussion: """
      Frame counts come from two places: what the container header claims, and a scan of every \
      packet (no decoding). Only the second is used to pick frames. The scan reads the whole file.
      """)

  @Argument(help: "Media files to describe.")
  var files: [String]

  @Flag(help: "Print a JSON array with one object per readable file instead of text.")
  var json = false

  func run() throws {
    var described: [MediaInfo] = []
    var failed = false
    for file in files {
      do {
        let info = try MediaInfo.probe(path: file)
        if json { described.append(info) } else { print(Self.text(info)) }
      } catch {
        failed = true
        reportFailure(of: file, error)
      }
    }
    if json {
      let encoder = JSONEncoder()
      encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
      print(String(decoding: try encoder.encode(described), as: UTF8.self))
    }
    if failed { throw ExitCode.failure }
  }

  static func text(_ info: MediaInfo) -> String {
    var lines = [info.path]
    var container = "  container  \(info.container)"
    container += ", \(info.fileSize) bytes"
    if let duration = info.duration { container += ", duration \(seconds(duration))" }
    if let start = info.startTime { container += ", start \(seconds(start))" }
    if let rate = info.bitRate { container += ", \(rate / 1000) kb/s" }
    lines.append(container)
    for v in info.video {
      var head = "  video #\(v.index)   \(v.codec)"
      if let profile = v.profile { head += " (\(profile))" }
      head += ", \(v.width)x\(v.height) \(v.pixelFormat ?? "unknown pixel format")"
      if v.isAttachedPicture {
        lines.append(head + ", attached picture (cover art)")
        continue
      }
      if let orientation = v.orientation {
        if orientation != .identity { head += ", shown as \(v.displayWidth)x\(v.displayHeight) (\(orientation.rawValue))" }
      } else {
        head += ", rotated \(v.displayMatrixRotation.map { String(format: "%.1f", $0) } ?? "?") degrees (unsupported)"
      }
      lines.append(head)
      var timing = "             time base \(v.timeBase), r_frame_rate \(v.rFrameRate), avg_frame_rate \(v.avgFrameRate)"
      if let vfr = v.isVariableFrameRate { timing += vfr ? ", variable frame rate" : ", constant frame rate" }
      lines.append(timing)
      if let d = v.frameDuration {
        lines.append("             frame duration min \(seconds(d.min)), median \(seconds(d.median)), max \(seconds(d.max))")
      }
      var frames = "             frames: \(v.indexedFrameCount.map(String.init) ?? "?") indexed"
      frames += ", \(v.containerFrameCount.map(String.init) ?? "unknown") in container header"
      if let keyframes = v.keyframeCount { frames += ", \(keyframes) keyframes" }
      if v.hasReordering { frames += ", reordered (B-frames)" }
      if v.indexSource == .decodedFrames { frames += ", indexed by decoding (packets lack timestamps)" }
      lines.append(frames)
      if let problem = v.indexProblem { lines.append("             warning: \(problem)") }
      var span = "            "
      if let start = v.startTime { span += " start \(seconds(start))" }
      if let duration = v.duration { span += " duration \(seconds(duration))" }
      if span.count > 12 { lines.append(span) }
      let c = v.color
      var color = "             colour tags: matrix \(c.matrix), range \(c.range), primaries \(c.primaries)"
      color += ", transfer \(c.transfer), chroma \(c.chromaLocation)"
      lines.append(color)
      let r = v.resolvedColor
      if let matrix = r.matrix, let range = r.range {
        lines.append(
          "             converted to RGB with \(matrix.rawValue) (\(r.matrixSource?.rawValue ?? "")), "
            + "\(range.rawValue) range (\(r.rangeSource?.rawValue ?? ""))")
      }
    }
    for a in info.audio {
      var line = "  audio #\(a.index)   \(a.codec), \(a.sampleRate) Hz, \(a.channelLayout)"
      if let format = a.sampleFormat { line += ", \(format)" }
      if let duration = a.duration { line += ", duration \(seconds(duration))" }
      if let rate = a.bitRate { line += ", \(rate / 1000) kb/s" }
      lines.append(line)
    }
    if info.otherStreamCount > 0 { lines.append("  other streams: \(info.otherStreamCount)") }
    return lines.joined(separator: "\n")
  }

  private static func seconds(_ value: Double) -> String { String(format: "%.3f s", value) }
}
