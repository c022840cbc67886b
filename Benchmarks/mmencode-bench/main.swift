let arguments = Array(CommandLine.arguments.dropFirst(2))
switch CommandLine.arguments.dropFirst().first {
case "speech": try SpeechBench.run(arguments)
case "speech-long": try SpeechLongBench.run(arguments)
case "clip": try CLIPBench.run(arguments)
case "cache": try CacheBench.run(arguments)
case "video": try VideoBench.run(arguments)
default: print("usage: mmencode-bench speech|speech-long|clip|cache|video [options]")
}
