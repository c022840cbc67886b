import ArgumentParser

@main
struct MMEncode: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "mmencode",
    abstract: "Turn long videos, speech and text into embeddings.",
    subcommands: [
      ImageCommand.self, TextCommand.self, SpeechCommand.self, FuseCommand.self, CacheCommand.self,
      InfoCommand.self, ConvertCommand.self,
    ])
}
