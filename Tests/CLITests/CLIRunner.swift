import Foundation
import TestSupport

/// Runs the built `mmencode` executable as a user would, capturing its exit status and output.
///
/// The binary sits next to the test bundle in the build directory (`swift build --build-tests`
/// builds both).
enum CLI {
  struct Result {
    let status: Int32
    let stdout: String
    let stderr: String
  }

  static let executable: URL = {
    var directory = Bundle.main.bundleURL
    while directory.path != "/" {
      let candidate = directory.appendingPathComponent("mmencode")
      if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
      directory = directory.deletingLastPathComponent()
    }
    return Repository.root.appendingPathComponent(".build/debug/mmencode")
  }()

  /// Runs `mmencode arguments...` in `directory` with `environment` added, and waits at most
  /// `timeout` seconds (then the process is killed and the status is reported as -1).
  static func run(
    _ arguments: [String], in directory: URL? = nil, environment: [String: String] = [:],
    timeout: TimeInterval = 300
  ) throws -> Result {
    let process = Process()
    process.executableURL = executable
    process.arguments = arguments
    process.currentDirectoryURL = directory ?? Repository.root
    process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
    let out = Pipe()
    let err = Pipe()
    process.standardOutput = out
    process.standardError = err
    try process.run()
    // Drain both pipes while the process runs, so a chatty process cannot block on a full pipe.
    nonisolated(unsafe) var outData = Data()
    nonisolated(unsafe) var errData = Data()
    let group = DispatchGroup()
    for (pipe, isOut) in [(out, true), (err, false)] {
      group.enter()
      DispatchQueue.global().async {
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        if isOut { outData = data } else { errData = data }
        group.leave()
      }
    }
    let deadline = Date().addingTimeInterval(timeout)
    while process.isRunning && Date() < deadline { usleep(20_000) }
    var timedOut = false
    if process.isRunning {
      process.terminate()
      timedOut = true
    }
    process.waitUntilExit()
    group.wait()
    return Result(
      status: timedOut ? -1 : process.terminationStatus,
      stdout: String(decoding: outData, as: UTF8.self),
      stderr: String(decoding: errData, as: UTF8.self))
  }
}
