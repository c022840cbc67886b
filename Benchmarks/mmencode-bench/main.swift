if CommandLine.arguments.dropFirst().first == "clip" { try CLIPBench.run(Array(CommandLine.arguments.dropFirst(2))) }
print("benchmarks")
