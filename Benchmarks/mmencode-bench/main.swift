import Core
import Foundation

// `swift run -c release mmencode-bench <area>`. Each area's benchmarks live in their own file and
// register here with one line.
let areas: [String: () -> Void] = [
  "core": runCoreBenchmarks
]

Threads.configure()
guard let name = CommandLine.arguments.dropFirst().first, let run = areas[name] else {
  let names = areas.keys.sorted().joined(separator: "|")
  FileHandle.standardError.write(Data("usage: mmencode-bench <\(names)>\n".utf8))
  exit(2)
}
print("threads: \(Threads.count) (OpenBLAS: \(Threads.blasThreads))")
run()
