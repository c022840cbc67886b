import ArgumentParser

@main
struct MMEncode: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "mmencode",
    abstract: "Turn long videos, speech and text into embeddings.",
    subcommands: [VideoCommand.self, InfoCommand.self],
    defaultSubcommand: VideoCommand.self)
}
