import ArgumentParser
import Core
import Foundation

/// How progress is shown on stderr.
enum ProgressStyle: String, CaseIterable, ExpressibleByArgument {
  /// A bar when stderr is a terminal, nothing otherwise.
  case auto
  case bar
  /// One JSON object per line, for machines.
  case json
  case none
}

/// Renders ``ProgressReport``s on stderr: a redrawn one-line bar with rate and ETA, or JSON lines.
///
/// Updates are throttled (bars redraw at most 10 times a second, JSON at most once a second) so
/// that reporting never costs noticeable time; the final state of each item is always written.
final class ProgressDisplay: @unchecked Sendable {
  private enum Mode { case bar, json, silent }
  private let mode: Mode
  private let lock = NSLock()
  private var started: [String: Date] = [:]
  private var lastDraw = Date.distantPast
  private var barVisible = false

  init(_ style: ProgressStyle) {
    switch style {
    case .auto: mode = isatty(STDERR_FILENO) == 1 ? .bar : .silent
    case .bar: mode = .bar
    case .json: mode = .json
    case .none: mode = .silent
    }
  }

  /// A handler to pass to library calls.
  var handler: ProgressHandler { { [self] in report($0) } }

  func report(_ r: ProgressReport) {
    lock.lock()
    defer { lock.unlock() }
    let now = Date()
    let start = started[r.item] ?? now
    started[r.item] = start
    let finished = r.total.map { r.completed >= $0 } ?? false
    let interval = mode == .json ? 1.0 : 0.1
    guard finished || now.timeIntervalSince(lastDraw) >= interval else { return }
    lastDraw = now
    let elapsed = now.timeIntervalSince(start)
    let rate = elapsed > 0 ? Double(r.completed) / elapsed : 0
    let eta = r.total.flatMap { total in rate > 0 ? Double(total - r.completed) / rate : nil }
    switch mode {
    case .silent: return
    case .json:
      var object: [String: Any] = [
        "event": "progress", "item": r.item, "completed": r.completed, "unit": r.unit,
        "elapsed_s": rounded(elapsed), "rate": rounded(rate),
      ]
      if let total = r.total { object["total"] = total }
      if let eta { object["eta_s"] = rounded(eta) }
      writeLine(object)
    case .bar:
      drawBar(r, rate: rate, eta: eta)
    }
  }

  /// Ends the display of `item`; in JSON mode writes its summary (counts, seconds) as the last
  /// object for that item.
  func finish(item: String, summary: [String: Any]) {
    lock.lock()
    defer { lock.unlock() }
    let elapsed = started.removeValue(forKey: item).map { Date().timeIntervalSince($0) } ?? 0
    switch mode {
    case .silent: return
    case .bar:
      if barVisible { FileHandle.standardError.write(Data("\n".utf8)) }
      barVisible = false
    case .json:
      var object = summary
      object["event"] = "done"
      object["item"] = item
      object["seconds"] = object["seconds"] ?? rounded(elapsed)
      writeLine(object)
    }
  }

  /// Moves off the bar line before a message is printed to stderr.
  func interrupt() {
    lock.lock()
    defer { lock.unlock() }
    if barVisible { FileHandle.standardError.write(Data("\n".utf8)) }
    barVisible = false
  }

  private func drawBar(_ r: ProgressReport, rate: Double, eta: Double?) {
    let width = terminalColumns()
    var counts = "\(r.completed)"
    if let total = r.total { counts += "/\(total)" }
    var tail = " \(counts) \(r.unit)  \(String(format: "%.1f", rate)) \(r.unit)/s"
    if let eta { tail += "  ETA \(clock(eta))" }
    var bar = ""
    if let total = r.total, total > 0 {
      let cells = 24
      let filled = min(cells, cells * r.completed / total)
      bar = " [" + String(repeating: "=", count: filled) + String(repeating: " ", count: cells - filled) + "]"
    }
    let room = max(8, width - bar.count - tail.count - 1)
    let name = r.item.count > room ? "…" + r.item.suffix(room - 1) : r.item
    let line = "\r\u{1B}[2K" + name + bar + tail
    FileHandle.standardError.write(Data(line.utf8))
    barVisible = true
  }

  private func writeLine(_ object: [String: Any]) {
    guard var data = try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]) else {
      return
    }
    data.append(0x0A)
    FileHandle.standardError.write(data)
  }
}

private func rounded(_ x: Double) -> Double { (x * 1000).rounded() / 1000 }

private func clock(_ seconds: Double) -> String {
  let s = Int(seconds.rounded())
  return s >= 3600
    ? String(format: "%d:%02d:%02d", s / 3600, s / 60 % 60, s % 60)
    : String(format: "%d:%02d", s / 60, s % 60)
}

private func terminalColumns() -> Int {
  var size = winsize()
  return ioctl(STDERR_FILENO, UInt(TIOCGWINSZ), &size) == 0 && size.ws_col > 0 ? Int(size.ws_col) : 80
}
