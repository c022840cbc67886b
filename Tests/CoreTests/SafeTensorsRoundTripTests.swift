import Core
import Foundation
import TestSupport
import Testing

@Suite struct SafeTensorsWriteTests {
  let directory: TemporaryDirectory
  let path: String

  init() throws {
    directory = try TemporaryDirectory()
    path = directory.file("out.safetensors")
  }

  @Test func roundTripsEveryOutputDTypeBitExactly() throws {
    try writeSafeTensors(
      WeightsRecipe.interopArrays, metadata: WeightsRecipe.interopMetadata, to: path)
    let file = try SafeTensorsFile(path: path)
    #expect(file.metadata == WeightsRecipe.interopMetadata)
    for array in WeightsRecipe.interopArrays {
      let read = try file.array(array.name)
      #expect(sameBits(read, array), "\(array.name)")
    }
  }

  /// Every tensor starts at a multiple of its element size, as with the reference writer.
  @Test func dataIsAlignedToElementSize() throws {
    let arrays = [
      NamedArray("odd", Tensor(shape: [3], scalars: [1, 2, 3])),
      NamedArray("wide", shape: [1], values: .float64([1])),
      NamedArray("ids", shape: [1], values: .int64([7])),
    ]
    try writeSafeTensors(arrays, metadata: ["é": "ü"], to: path)
    let bytes = try Data(contentsOf: URL(fileURLWithPath: path))
    let headerLength = bytes.prefix(8).withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) }
    #expect((8 + headerLength) % 8 == 0)
    let file = try SafeTensorsFile(path: path)
    for array in arrays {
      let entry = try #require(file.entries[array.name])
      #expect(
        entry.range.lowerBound % array.values.elementSize == 0, "\(array.name) at \(entry.range)")
    }
  }

  @Test func replacesAnExistingFile() throws {
    try writeSafeTensors([NamedArray("a", Tensor(shape: [1], scalars: [1]))], to: path)
    try writeSafeTensors([NamedArray("b", Tensor(shape: [1], scalars: [2]))], to: path)
    #expect(try SafeTensorsFile(path: path).names == ["b"])
    #expect(try directory.listing() == ["out.safetensors"])
  }

  @Test func refusesRepeatedOrReservedNames() throws {
    let a = NamedArray("a", Tensor(shape: [1], scalars: [1]))
    #expect(throws: WeightError.self) { try writeSafeTensors([a, a], to: path) }
    #expect(throws: WeightError.self) {
      try writeSafeTensors([NamedArray("__metadata__", Tensor(shape: [1], scalars: [1]))], to: path)
    }
    #expect(try directory.listing().isEmpty)
  }

  @Test func missingDirectoryIsAnErrorAndLeavesNothing() throws {
    let target = directory.file("missing/out.safetensors")
    #expect {
      try writeSafeTensors([], to: target)
    } throws: { error in
      guard case WeightError.unwritable(let errorPath, let reason) = error else { return false }
      return errorPath == target && reason.contains("No such file or directory")
    }
    #expect(try directory.listing().isEmpty)
  }
}
