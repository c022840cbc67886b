if CommandLine.arguments.dropFirst().first == "speech" { try SpeechBench.run(Array(CommandLine.arguments.dropFirst(2))) }
if CommandLine.arguments.dropFirst().first == "video" { try VideoBench.run(Array(CommandLine.arguments.dropFirst(2))) }
print("benchmarks")
