import Core
import Foundation
import TestSupport
import Testing

/// SHA-256 of files and models, checked against published digests and coreutils' `sha256sum`.
@Suite struct WeightsHashTests {
  let directory: TemporaryDirectory

  init() throws {
    directory = try TemporaryDirectory()
  }

  func write(_ name: String, _ bytes: Data) throws -> String {
    let path = directory.file(name)
    try bytes.write(to: URL(fileURLWithPath: path))
    return path
  }

  /// `command` run by /bin/sh in `directory`, its standard output trimmed.
  func shell(_ command: String, in directory: String) throws -> String {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/bin/sh")
    process.arguments = ["-c", command]
    process.currentDirectoryURL = URL(fileURLWithPath: directory)
    let pipe = Pipe()
    process.standardOutput = pipe
    try process.run()
    let output = pipe.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return String(decoding: output, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
  }

  static let hasSha256sum = FileManager.default.isExecutableFile(atPath: "/usr/bin/sha256sum")

  @Test func publishedDigests() throws {
    // FIPS 180-2 example and the empty message.
    #expect(
      try sha256(file: write("abc", Data("abc".utf8)))
        == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
    #expect(
      try sha256(file: write("empty", Data()))
        == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
  }

  @Test(.enabled(if: hasSha256sum)) func chunkedHashMatchesSha256sum() throws {
    var rng = SeededGenerator(seed: 7)
    let bytes = Data((0..<(3 * 4096 + 17)).map { _ in UInt8.random(in: 0...255, using: &rng) })
    let path = try write("blob.bin", bytes)
    let reference = try shell("sha256sum blob.bin | cut -d' ' -f1", in: directory.path)
    #expect(try sha256(file: path) == reference)
    // Chunk sizes that split the file unevenly and that exceed it.
    for chunkSize in [1, 63, 4096, 1 << 20] {
      #expect(try sha256(file: path, chunkSize: chunkSize) == reference)
    }
  }

  @Test(.enabled(if: hasSha256sum)) func modelHashIsTheHashOfSha256sumOutput() throws {
    let model = directory.file("model")
    try FileManager.default.copyItem(atPath: weightsFixture("sharded"), toPath: model)
    try Data(#"{"model_type": "clip"}"#.utf8).write(
      to: URL(fileURLWithPath: model + "/config.json"))
    let reference = try shell(
      "sha256sum config.json model-00001-of-00003.safetensors model-00002-of-00003.safetensors "
        + "model-00003-of-00003.safetensors model.safetensors.index.json | sha256sum | cut -d' ' -f1",
      in: model)
    #expect(try modelHash(directory: model) == reference)

    try writeSafeTensors(
      [NamedArray("w", Tensor(shape: [1], scalars: [1]))], to: model + "/model.safetensors")
    let single = try shell(
      "sha256sum config.json model.safetensors | sha256sum | cut -d' ' -f1", in: model)
    #expect(try modelHash(directory: model) == single)
  }

  @Test func hashChangesWithTheConfig() throws {
    let model = directory.file("model")
    try FileManager.default.copyItem(atPath: weightsFixture("sharded"), toPath: model)
    try Data("{}".utf8).write(to: URL(fileURLWithPath: model + "/config.json"))
    let before = try modelHash(directory: model)
    try Data("{ }".utf8).write(to: URL(fileURLWithPath: model + "/config.json"))
    #expect(try modelHash(directory: model) != before)
  }

  @Test func unreadableFiles() throws {
    let missing = directory.file("missing")
    #expect(throws: WeightError.unreadable(path: missing, reason: "No such file or directory")) {
      try sha256(file: missing)
    }
    #expect(throws: WeightError.unreadable(path: directory.path, reason: "Is a directory")) {
      try sha256(file: directory.path)
    }
    #expect(
      throws: WeightError.unreadable(
        path: directory.path + "/config.json", reason: "No such file or directory")
    ) {
      try writeSafeTensors([], to: directory.file("model.safetensors"))
      return try modelHash(directory: directory.path)
    }
  }
}
