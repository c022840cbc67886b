import Core
import Foundation
import TestSupport
import Testing

/// ``writeOutput(_:metadata:to:format:)``: both formats, the replace policy, and no partial output.
@Suite struct OutputWritingTests {
  let directory: TemporaryDirectory
  let arrays = [
    NamedArray("image_embeds", Tensor(shape: [2, 3], scalars: [1, 2, 3, 4, 5, 6])),
    NamedArray("input_ids", shape: [2, 2], values: .int64([49406, 49407, 49406, 49407])),
  ]
  let metadata = ["model": "openai/clip-vit-base-patch32", "mmencode.version": "0.1.0"]

  init() throws {
    directory = try TemporaryDirectory()
  }

  @Test func safetensorsFileWithMetadata() throws {
    let path = directory.file("out.safetensors")
    try writeOutput(arrays, metadata: metadata, to: path, format: .safetensors)
    let file = try SafeTensorsFile(path: path)
    #expect(file.metadata == metadata)
    for array in arrays { #expect(try file.array(array.name) == array) }
    #expect(try directory.listing() == ["out.safetensors"])
  }

  @Test func npyDirectoryWithMetadataJSON() throws {
    let path = directory.file("out")
    try writeOutput(arrays, metadata: metadata, to: path, format: .npy)
    #expect(
      try FileManager.default.contentsOfDirectory(atPath: path).sorted() == [
        "image_embeds.npy", "input_ids.npy", "metadata.json",
      ])
    let read = try readNPYOutput(path)
    #expect(read.arrays == arrays)
    #expect(read.metadata == metadata)
    #expect(try directory.listing() == ["out"])
  }

  @Test func earlierNPYOutputIsReplaced() throws {
    let path = directory.file("out")
    try writeOutput(arrays, metadata: metadata, to: path, format: .npy)
    let second = [NamedArray("text_embeds", Tensor(shape: [1, 2], scalars: [7, 8]))]
    try writeOutput(second, metadata: [:], to: path, format: .npy)
    let read = try readNPYOutput(path)
    #expect(read.arrays == second && read.metadata.isEmpty)
    #expect(try directory.listing() == ["out"])
  }

  @Test func emptyDirectoryIsReplaced() throws {
    let path = directory.file("out")
    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: false)
    try writeOutput(arrays, metadata: metadata, to: path, format: .npy)
    #expect(try readNPYOutput(path).arrays == arrays)
  }

  @Test func directoryWithOtherFilesIsRefusedAndKept() throws {
    let path = directory.file("out")
    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: false)
    try Data("keep me".utf8).write(to: URL(fileURLWithPath: path + "/notes.txt"))
    #expect(
      throws: WeightError.unwritable(
        path: path,
        reason: "exists and holds files other than an earlier output; refusing to replace it")
    ) { try writeOutput(arrays, metadata: metadata, to: path, format: .npy) }
    #expect(try FileManager.default.contentsOfDirectory(atPath: path) == ["notes.txt"])
    #expect(try directory.listing() == ["out"])
  }

  @Test func fileInPlaceOfTheDirectoryIsRefused() throws {
    let path = directory.file("out")
    try Data("x".utf8).write(to: URL(fileURLWithPath: path))
    #expect(
      throws: WeightError.unwritable(
        path: path, reason: "exists and is not a directory; refusing to replace it")
    ) {
      try writeOutput(arrays, metadata: metadata, to: path, format: .npy)
    }
  }

  @Test func directoryInPlaceOfTheFileIsRefused() throws {
    #expect(throws: WeightError.unwritable(path: directory.path, reason: "is a directory")) {
      try writeOutput(arrays, metadata: metadata, to: directory.path, format: .safetensors)
    }
  }

  @Test func unusableNamesAreRefused() throws {
    for name in ["a/b", "", "..", "image_embeds"] {
      let bad = arrays + [NamedArray(name, Tensor(shape: [1], scalars: [0]))]
      #expect(throws: WeightError.self, "\(name)") {
        try writeOutput(bad, metadata: [:], to: directory.file("out"), format: .npy)
      }
    }
    #expect(try directory.listing().isEmpty)
  }

  /// A failure after some files are written (a name longer than the file system allows) leaves
  /// neither a partial directory nor a changed earlier output.
  @Test func failureHalfwayLeavesNoPartialOutput() throws {
    let path = directory.file("out")
    let tooLong = NamedArray(String(repeating: "x", count: 300), Tensor(shape: [1], scalars: [0]))
    #expect(throws: WeightError.self) {
      try writeOutput(arrays + [tooLong], metadata: [:], to: path, format: .npy)
    }
    #expect(try directory.listing().isEmpty)

    try writeOutput(arrays, metadata: metadata, to: path, format: .npy)
    #expect(throws: WeightError.self) {
      try writeOutput([tooLong], metadata: [:], to: path, format: .npy)
    }
    #expect(try readNPYOutput(path).arrays == arrays)
    #expect(try directory.listing() == ["out"])
  }
}
