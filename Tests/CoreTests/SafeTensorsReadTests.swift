import Core
import Foundation
import TestSupport
import Testing

/// Reading files written by the reference writer (`safetensors.torch.save_file`, see
/// fixtures/gen_weights.py); every comparison is bit-exact.
@Suite struct SafeTensorsReadTests {
  let file: SafeTensorsFile

  init() throws {
    file = try SafeTensorsFile(path: weightsFixture("reference.safetensors"))
  }

  @Test func namesAndMetadata() {
    #expect(file.names == ["bf16", "bf16_as_f32", "f16", "f16_as_f32", "f32", "f64", "i32", "i64"])
    #expect(file.metadata == ["format": "pt", "note": "日本語 ✓"])
    #expect(file.entries["bf16"]?.dtype == "BF16" && file.entries["bf16"]?.shape == [4, 8])
  }

  @Test func float32AsStored() throws {
    let tensor = try file.tensor("f32")
    #expect(tensor.shape == [3, 4, 5])
    #expect(bits(tensor.scalars) == WeightsRecipe.lcg32(seed: 1, count: 60))
  }

  /// torch's own widening (stored beside each tensor) is the reference, NaN payloads included.
  @Test(arguments: ["f16", "bf16"])
  func halfPrecisionWidensLikeTorch(name: String) throws {
    let widened = try file.tensor(name)
    let reference = try file.tensor(name + "_as_f32")
    #expect(widened.shape == reference.shape)
    #expect(bits(widened.scalars) == bits(reference.scalars))
  }

  @Test func float64AndInt64KeepTheirPrecision() throws {
    #expect(
      sameBits(
        try file.array("f64"),
        NamedArray(
          "f64", shape: [2, 4],
          values: .float64(WeightsRecipe.f64Special.map(Double.init(bitPattern:))))))
    #expect(
      try file.array("i64")
        == NamedArray("i64", shape: [6], values: .int64(WeightsRecipe.i64Extremes)))
  }

  @Test func otherDTypesAreRefusedForFloatLoading() {
    let path = weightsFixture("reference.safetensors")
    #expect(throws: WeightError.unsupportedDType(path: path, key: "i32", dtype: "I32")) {
      try file.tensor("i32")
    }
    #expect(throws: WeightError.unsupportedDType(path: path, key: "i32", dtype: "I32")) {
      try file.array("i32")
    }
    #expect(throws: WeightError.unsupportedDType(path: path, key: "i64", dtype: "I64")) {
      try file.tensor("i64")
    }
    #expect(throws: WeightError.missingTensor(path: path, key: "nope")) { try file.tensor("nope") }
  }

  #if os(Linux)
    /// The file is mapped, not read: it appears in the process's mappings while open and is
    /// unmapped when the reader goes.
    @Test func fileIsMemoryMappedWhileOpen() throws {
      let directory = try TemporaryDirectory()
      let path = directory.file("mapped-\(UUID()).safetensors")
      try FileManager.default.copyItem(
        atPath: weightsFixture("reference.safetensors"), toPath: path)
      // String(contentsOfFile:) stops after the first short read, which /proc files give.
      func mapped() throws -> Bool {
        let maps =
          try #require(FileHandle(forReadingAtPath: "/proc/self/maps")).readToEnd() ?? Data()
        return String(decoding: maps, as: UTF8.self).contains(path)
      }
      var reader: SafeTensorsFile? = try SafeTensorsFile(path: path)
      #expect(try mapped())
      #expect(try reader?.tensor("f32").count == 60)
      reader = nil
      #expect(try !mapped())
    }
  #endif
}
