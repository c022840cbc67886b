import Core
import Foundation
import TestSupport
import Testing

/// `.npy` files against `numpy.save` / `numpy.load` (fixtures/weights/npy, written by
/// fixtures/gen_weights.py).
@Suite struct NPYTests {
  let directory: TemporaryDirectory

  init() throws {
    directory = try TemporaryDirectory()
  }

  func fixture(_ name: String) -> String { weightsFixture("npy/\(name).npy") }

  @Test(arguments: WeightsRecipe.interopArrays)
  func writerMatchesNumpySaveByteForByte(array: NamedArray) throws {
    let path = directory.file("\(array.name).npy")
    try NPY.write(array, to: path)
    let ours = try Data(contentsOf: URL(fileURLWithPath: path))
    let numpy = try Data(contentsOf: URL(fileURLWithPath: fixture(array.name)))
    #expect(ours == numpy, "\(array.name): \(ours.count) vs \(numpy.count) bytes")
  }

  @Test(arguments: WeightsRecipe.interopArrays)
  func readerReadsNumpyFilesBitExactly(array: NamedArray) throws {
    #expect(sameBits(try NPY.read(fixture(array.name)), array))
  }

  /// numpy's own conversions to float32, stored beside the data, are the reference.
  @Test(arguments: ["f16", "f64"])
  func floatFilesConvertLikeNumpy(name: String) throws {
    let tensor = try NPY.readTensor(fixture(name))
    let reference = try NPY.readTensor(fixture(name + "_as_f32"))
    #expect(tensor.shape == reference.shape)
    #expect(bits(tensor.scalars) == bits(reference.scalars))
  }

  @Test(arguments: ["version2", "version3"])
  func laterFormatVersions(name: String) throws {
    #expect(
      try NPY.readTensor(fixture(name)) == Tensor(shape: [3, 2], scalars: [0, 1, 2, 3, 4, 5]))
  }

  @Test(arguments: [
    ("fortran", NPYDefect.fortranOrder),
    ("object", .objectArray),
    ("big_endian", .bigEndian(descr: ">f4")),
    ("int32", .unsupportedDType(descr: "<i4")),
    ("structured", .structuredDType),
  ])
  func refusedNumpyFiles(name: String, defect: NPYDefect) {
    #expect(throws: WeightError.invalidNPY(path: fixture(name), defect)) {
      try NPY.read(fixture(name))
    }
  }

  @Test func integerFileIsNotAFloatTensor() {
    let path = fixture("i64_extremes")
    #expect(throws: WeightError.unsupportedDType(path: path, key: "i64_extremes", dtype: "<i8")) {
      try NPY.readTensor(path)
    }
  }

  /// `bytes` written to a file in the test directory, and its path.
  func file(_ bytes: Data) throws -> String {
    let path = directory.file("broken.npy")
    try bytes.write(to: URL(fileURLWithPath: path))
    return path
  }

  func numpyBytes(_ name: String) throws -> Data {
    try Data(contentsOf: URL(fileURLWithPath: fixture(name)))
  }

  @Test(arguments: [
    Data(), Data("PK\u{3}\u{4}not npy".utf8), Data([0x93] + Array("NUMPX".utf8) + [1, 0]),
  ])
  func badMagic(bytes: Data) throws {
    let path = try file(bytes)
    #expect(throws: WeightError.invalidNPY(path: path, .badMagic)) { try NPY.read(path) }
  }

  @Test func unsupportedVersion() throws {
    var bytes = try numpyBytes("f32_bits")
    bytes[6] = 4
    let path = try file(bytes)
    #expect(throws: WeightError.invalidNPY(path: path, .unsupportedVersion(major: 4, minor: 0))) {
      try NPY.read(path)
    }
  }

  @Test func truncatedHeader() throws {
    let path = try file(try numpyBytes("f32_bits").prefix(40))
    #expect(throws: WeightError.invalidNPY(path: path, .truncatedHeader)) { try NPY.read(path) }
  }

  @Test func truncatedData() throws {
    let path = try file(try numpyBytes("f32_bits").dropLast(4))
    #expect(throws: WeightError.invalidNPY(path: path, .truncatedData(expected: 240, actual: 236)))
    {
      try NPY.read(path)
    }
  }

  @Test func bytesAfterTheData() throws {
    let path = try file(try numpyBytes("f32_bits") + Data([1, 2, 3]))
    #expect(throws: WeightError.invalidNPY(path: path, .trailingData(expected: 240, actual: 243))) {
      try NPY.read(path)
    }
  }

  /// Builds a version 1.0 file around `header` (padding it as numpy does) with `data`.
  func npy(header: String, data: [UInt8] = []) -> Data {
    var text = Array(header.utf8)
    while (10 + text.count + 1) % 64 != 0 { text.append(UInt8(ascii: " ")) }
    text.append(UInt8(ascii: "\n"))
    var bytes = Data([0x93] + Array("NUMPY".utf8) + [1, 0])
    withUnsafeBytes(of: UInt16(text.count).littleEndian) { bytes.append(contentsOf: $0) }
    return bytes + Data(text) + Data(data)
  }

  @Test func handWrittenHeaderVariantsParse() throws {
    // Double quotes, no trailing comma, a Python 2 long, extra spaces.
    let path = try file(
      npy(
        header: #"{ "shape" : (2L,) , "fortran_order": False, "descr": "<f4" }"#,
        data: [0, 0, 0x80, 0x3F, 0, 0, 0, 0x40]))
    #expect(try NPY.readTensor(path) == Tensor(shape: [2], scalars: [1, 2]))
  }

  @Test(arguments: [
    (
      "{'descr': '<f4', 'shape': (1,), }",
      "not a dict of exactly 'descr', 'fortran_order' and 'shape'"
    ),
    (
      "{'descr': '<f4', 'fortran_order': False, 'shape': (1,), 'extra': 1, }",
      "not a dict of exactly 'descr', 'fortran_order' and 'shape'"
    ),
    (
      "{'descr': '<f4', 'fortran_order': 0, 'shape': (1,), }",
      "'fortran_order' is not True or False"
    ),
    ("{'descr': '<f4', 'fortran_order': False, 'shape': 1, }", "'shape' is not a tuple"),
    (
      "{'descr': '<f4', 'fortran_order': False, 'shape': (-1,), }",
      "'shape' holds something other than non-negative integers"
    ),
    ("{'descr': 4, 'fortran_order': False, 'shape': (1,), }", "'descr' is not a string"),
    ("{'descr': '<f4', 'fortran_order': False, 'shape': (1,)", "unterminated dict"),
    ("{'descr': '<f4', 'fortran_order': False, 'shape': (1,), } x", "text after the dict"),
    (
      "{'descr': '<f4\\n', 'fortran_order': False, 'shape': (1,), }",
      "escape sequences in strings are not supported"
    ),
  ])
  func invalidHeaders(header: String, reason: String) throws {
    let path = try file(npy(header: header, data: [0, 0, 0, 0]))
    #expect(throws: WeightError.invalidNPY(path: path, .invalidHeader(reason))) {
      try NPY.read(path)
    }
  }

  @Test func writeIntoMissingDirectoryLeavesNothing() throws {
    let path = directory.file("missing/a.npy")
    #expect(throws: WeightError.self) {
      try NPY.write(NamedArray("a", Tensor(shape: [1], scalars: [1])), to: path)
    }
    #expect(try directory.listing().isEmpty)
  }
}
