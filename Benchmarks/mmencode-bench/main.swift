import Core
import Foundation

// `swift run -c release mmencode-bench <area> [options]`. Each area's benchmarks live in their own
// file and register here with one line; each prints ratios against a baseline measured in the
// same run.
let areas: [String: ([String]) throws -> Void] = [
  "core": { _ in runCoreBenchmarks() },
  "clip": CLIPBench.run,
  "cache": CacheBench.run,
  "speech": SpeechBench.run,
  "speech-long": SpeechLongBench.run,
  "video": VideoBench.run,
]

Threads.configure()
Allocator.keepFreedMemory()
guard let name = CommandLine.arguments.dropFirst().first, let run = areas[name] else {
  let names = areas.keys.sorted().joined(separator: "|")
  FileHandle.standardError.write(Data("usage: mmencode-bench <\(names)> [options]\n".utf8))
  exit(2)
}
print("threads: \(Threads.count) (OpenBLAS: \(Threads.blasThreads))")
try run(Array(CommandLine.arguments.dropFirst(2)))
