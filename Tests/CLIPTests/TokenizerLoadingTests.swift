import CLIP
import Foundation
import TestSupport
import Testing

/// Missing and malformed tokenizer files: typed errors naming the file, as one line.
@Suite struct TokenizerLoadingTests {
  /// A temporary model directory holding copies of the fixture vocabulary, which a test may
  /// then replace or remove.
  final class ModelDirectory {
    let path: URL
    var vocabulary: URL { path.appendingPathComponent(CLIPTokenizer.vocabularyFileName) }
    var merges: URL { path.appendingPathComponent(CLIPTokenizer.mergesFileName) }

    init() throws {
      path = try makeTemporaryDirectory()
      for name in [CLIPTokenizer.vocabularyFileName, CLIPTokenizer.mergesFileName] {
        try FileManager.default.copyItem(
          at: TokenizerFixtures.vocabularyDirectory.appendingPathComponent(name),
          to: path.appendingPathComponent(name))
      }
    }

    deinit { try? FileManager.default.removeItem(at: path) }

    func replace(_ file: URL, with text: String) throws {
      try FileManager.default.removeItem(at: file)
      try Data(text.utf8).write(to: file)
    }

    func load() throws -> CLIPTokenizer { try CLIPTokenizer(directory: path.path) }
  }

  private func expectError(
    _ expected: TokenizerError, naming file: URL, _ load: () throws -> CLIPTokenizer
  ) {
    let error = #expect(throws: TokenizerError.self) { try load() }
    #expect(error == expected)
    let message = error?.localizedDescription ?? ""
    #expect(message.contains(file.path) && !message.contains("\n"), "\(message)")
  }

  @Test func copiedDirectoryLoads() throws {
    let directory = try ModelDirectory()
    let tokenizer = try directory.load()
    #expect(
      tokenizer.encode("a photo of a cat")
        == (try TokenizerFixtures.tokenizer()).encode("a photo of a cat"))
  }

  @Test func missingFilesAreNamed() throws {
    let directory = try ModelDirectory()
    try FileManager.default.removeItem(at: directory.merges)
    expectError(.missingFile(path: directory.merges.path), naming: directory.merges, directory.load)
    try FileManager.default.removeItem(at: directory.vocabulary)
    expectError(
      .missingFile(path: directory.vocabulary.path), naming: directory.vocabulary, directory.load)
    let nowhere = directory.path.appendingPathComponent("nowhere")
    let vocabulary = nowhere.appendingPathComponent(CLIPTokenizer.vocabularyFileName)
    expectError(.missingFile(path: vocabulary.path), naming: vocabulary) {
      try CLIPTokenizer(directory: nowhere.path)
    }
  }

  @Test func unreadableVocabularyIsNamed() throws {
    let directory = try ModelDirectory()
    try FileManager.default.removeItem(at: directory.vocabulary)
    try FileManager.default.createDirectory(
      at: directory.vocabulary, withIntermediateDirectories: false)
    let error = #expect(throws: TokenizerError.self) { try directory.load() }
    guard case .unreadable(let path, _) = error else {
      Issue.record("expected .unreadable, got \(String(describing: error))")
      return
    }
    #expect(path == directory.vocabulary.path)
  }

  @Test func malformedVocabularyIsNamed() throws {
    let directory = try ModelDirectory()
    try directory.replace(directory.vocabulary, with: "[\"not\", \"an\", \"object\"]")
    expectError(
      .malformed(path: directory.vocabulary.path, reason: "not a JSON object of token to id"),
      naming: directory.vocabulary, directory.load)
    try directory.replace(directory.vocabulary, with: "{\"a</w>\": 0, \"<|startoftext|>\": 1}")
    expectError(
      .malformed(path: directory.vocabulary.path, reason: "no token \"<|endoftext|>\""),
      naming: directory.vocabulary, directory.load)
  }

  @Test func malformedMergesAreNamed() throws {
    let directory = try ModelDirectory()
    try directory.replace(directory.merges, with: "i n\nt h\n")
    expectError(
      .malformed(path: directory.merges.path, reason: "first line is not a \"#version\" header"),
      naming: directory.merges, directory.load)
    try directory.replace(directory.merges, with: "#version: 0.2\ni n\nt h e\n")
    expectError(
      .malformed(
        path: directory.merges.path, reason: "line 3: expected two symbols separated by a space"),
      naming: directory.merges, directory.load)
    try directory.replace(directory.merges, with: "")
    expectError(
      .malformed(path: directory.merges.path, reason: "first line is not a \"#version\" header"),
      naming: directory.merges, directory.load)
  }

  /// Like the reference: Windows line ends are accepted, merges past the reference's limit are
  /// ignored, and symbols outside the vocabulary become the unknown token (end-of-text).
  @Test func mergesAreReadAsTheReferenceReadsThem() throws {
    let directory = try ModelDirectory()
    let reference = try TokenizerFixtures.tokenizer()
    let original = try String(contentsOf: directory.merges, encoding: .utf8)
    let extra = "\nx y\n" + String(repeating: "q z\n", count: 3)
    try directory.replace(
      directory.merges, with: original.replacingOccurrences(of: "\n", with: "\r\n") + extra)
    let tokenizer = try directory.load()
    for text in ["a photo of a cat", "xy qz", "Donaudampfschifffahrt"] {
      #expect(tokenizer.encode(text) == reference.encode(text))
    }

    try directory.replace(
      directory.vocabulary, with: "{\"<|startoftext|>\": 0, \"<|endoftext|>\": 1, \"a</w>\": 2}")
    try directory.replace(directory.merges, with: "#version: 0.2\n")
    let tiny = try directory.load()
    #expect(tiny.encode("a b a") == [2, tiny.endOfTextID, 2])
  }
}
