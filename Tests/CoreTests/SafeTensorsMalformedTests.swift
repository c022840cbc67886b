import Core
import Foundation
import TestSupport
import Testing

/// One test per way a safetensors file can be broken; each expects its specific defect.
@Suite struct SafeTensorsMalformedTests {
  let directory: TemporaryDirectory
  let path: String

  init() throws {
    directory = try TemporaryDirectory()
    path = directory.file("model.safetensors")
  }

  /// Writes `bytes` to the test file and opens it.
  @discardableResult
  func open(_ bytes: Data) throws -> SafeTensorsFile {
    try bytes.write(to: URL(fileURLWithPath: path))
    return try SafeTensorsFile(path: path)
  }

  func defect(_ defect: SafeTensorsDefect) -> WeightError {
    .invalidSafeTensors(path: path, defect)
  }

  /// A one-tensor header: F32 `shape` at `offsets`.
  func header(_ name: String = "a", dtype: String = "F32", shape: String, offsets: String) -> String
  {
    #"{"\#(name)":{"dtype":"\#(dtype)","shape":\#(shape),"data_offsets":\#(offsets)}}"#
  }

  @Test func emptyFile() {
    #expect(throws: defect(.empty)) { try open(Data()) }
  }

  @Test func tooShortForTheHeaderLength() {
    #expect(throws: defect(.noHeaderLength(fileSize: 5))) { try open(Data([1, 0, 0, 0, 0])) }
  }

  @Test func headerLengthPastTheEnd() {
    let bytes = safeTensorsBytes(header: "{}", declaredLength: 1000)
    #expect(throws: defect(.headerPastEnd(length: 1000, fileSize: 10))) { try open(bytes) }
  }

  @Test func headerLengthOverTheReferenceLimit() {
    let bytes = safeTensorsBytes(header: "{}", declaredLength: 100_000_001)
    #expect(throws: defect(.headerTooLarge(length: 100_000_001, limit: 100_000_000))) {
      try open(bytes)
    }
  }

  @Test func dataShorterThanTheOffsets() {
    let bytes = safeTensorsBytes(
      header: header(shape: "[4]", offsets: "[0,16]"), data: [UInt8](repeating: 0, count: 8))
    #expect(throws: defect(.offsetsPastEnd(tensor: "a", begin: 0, end: 16, dataSize: 8))) {
      try open(bytes)
    }
  }

  @Test func headerNotUTF8() {
    var bytes = Data()
    withUnsafeBytes(of: UInt64(3).littleEndian) { bytes.append(contentsOf: $0) }
    bytes.append(contentsOf: [UInt8(ascii: "{"), 0xFF, UInt8(ascii: "}")])
    #expect(throws: defect(.headerNotUTF8)) { try open(bytes) }
  }

  @Test(arguments: ["{not json}", "", "{\"a\":", "{}}"])
  func headerNotJSON(text: String) {
    #expect(throws: defect(.headerNotJSON)) { try open(safeTensorsBytes(header: text)) }
  }

  @Test func deeplyNestedHeaderIsAnErrorNotACrash() {
    let text = String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000)
    #expect(throws: defect(.headerNotJSON)) { try open(safeTensorsBytes(header: text)) }
  }

  @Test(arguments: ["[1, 2]", "\"text\"", "42", "null"])
  func headerNotAnObject(text: String) {
    #expect(throws: defect(.headerNotObject)) { try open(safeTensorsBytes(header: text)) }
  }

  @Test func unknownDType() {
    let bytes = safeTensorsBytes(
      header: header(dtype: "F12", shape: "[1]", offsets: "[0,4]"), data: [0, 0, 0, 0])
    #expect(throws: defect(.unknownDType(tensor: "a", dtype: "F12"))) { try open(bytes) }
  }

  @Test(arguments: [
    #"{"a":{"shape":[1],"data_offsets":[0,4]}}"#,  // no dtype
    #"{"a":{"dtype":7,"shape":[1],"data_offsets":[0,4]}}"#,  // dtype not a string
    #"{"a":{"dtype":"F32","data_offsets":[0,4]}}"#,  // no shape
    #"{"a":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}}"#,  // negative extent
    #"{"a":{"dtype":"F32","shape":[1.5],"data_offsets":[0,4]}}"#,  // fractional extent
    #"{"a":{"dtype":"F32","shape":[true],"data_offsets":[0,4]}}"#,  // boolean extent
    #"{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4,8]}}"#,  // three offsets
    #"{"a":{"dtype":"F32","shape":[1],"data_offsets":[-4,0]}}"#,  // negative offset
    #"{"a":[1,2,3]}"#,  // not an object
  ])
  func invalidTensorInfo(text: String) {
    #expect(throws: defect(.invalidTensorInfo(tensor: "a"))) {
      try open(safeTensorsBytes(header: text, data: [0, 0, 0, 0]))
    }
  }

  @Test func offsetsOutOfRange() {
    let bytes = safeTensorsBytes(
      header: header(shape: "[25]", offsets: "[0,100]"), data: [UInt8](repeating: 0, count: 16))
    #expect(throws: defect(.offsetsPastEnd(tensor: "a", begin: 0, end: 100, dataSize: 16))) {
      try open(bytes)
    }
  }

  @Test func reversedOffsets() {
    let bytes = safeTensorsBytes(
      header: header(shape: "[0]", offsets: "[8,0]"), data: [UInt8](repeating: 0, count: 8))
    #expect(throws: defect(.reversedOffsets(tensor: "a", begin: 8, end: 0))) { try open(bytes) }
  }

  @Test func overlappingOffsets() {
    let text =
      #"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}"#
    let bytes = safeTensorsBytes(header: text, data: [UInt8](repeating: 0, count: 12))
    #expect(throws: defect(.overlap(tensor: "b", other: "a"))) { try open(bytes) }
  }

  @Test func identicalOffsetsOverlap() {
    let text =
      #"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}"#
    let bytes = safeTensorsBytes(header: text, data: [UInt8](repeating: 0, count: 8))
    #expect(throws: defect(.overlap(tensor: "b", other: "a"))) { try open(bytes) }
  }

  @Test func gapBetweenTensors() {
    let text =
      #"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[12,20]}}"#
    let bytes = safeTensorsBytes(header: text, data: [UInt8](repeating: 0, count: 20))
    #expect(throws: defect(.gap(from: 8, to: 12, before: "b"))) { try open(bytes) }
  }

  @Test func bytesAfterTheLastTensor() {
    let bytes = safeTensorsBytes(
      header: header(shape: "[2]", offsets: "[0,8]"), data: [UInt8](repeating: 0, count: 12))
    #expect(throws: defect(.trailingBytes(count: 4, after: 8))) { try open(bytes) }
  }

  @Test func shapeDisagreesWithByteCount() {
    let bytes = safeTensorsBytes(
      header: header(shape: "[3]", offsets: "[0,8]"), data: [UInt8](repeating: 0, count: 8))
    #expect(
      throws: defect(
        .byteCountMismatch(tensor: "a", dtype: "F32", shape: [3], bytes: 8, needed: 12))
    ) {
      try open(bytes)
    }
  }

  @Test func shapeTooLargeToCount() {
    let bytes = safeTensorsBytes(header: header(shape: "[4611686018427387904,4]", offsets: "[0,0]"))
    #expect(throws: defect(.sizeOverflow(tensor: "a", shape: [1 << 62, 4]))) { try open(bytes) }
  }

  @Test func subByteDTypeNotFillingWholeBytes() {
    let bytes = safeTensorsBytes(
      header: header(dtype: "F4", shape: "[3]", offsets: "[0,1]"), data: [0])
    #expect(throws: defect(.partialByte(tensor: "a", dtype: "F4", shape: [3]))) { try open(bytes) }
  }

  @Test(arguments: [
    #"{"__metadata__":{"a":1}}"#, #"{"__metadata__":["a"]}"#, #"{"__metadata__":{"a":null}}"#,
  ])
  func metadataNotStrings(text: String) {
    #expect(throws: defect(.metadataNotStrings)) { try open(safeTensorsBytes(header: text)) }
  }

  /// A repeated key keeps one entry (the first here, the last in the reference); when the
  /// entries differ, the dropped one leaves uncovered bytes, so the file fails either way.
  @Test func repeatedKeyWithDifferentEntries() {
    let text =
      #"{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}"#
    let bytes = safeTensorsBytes(header: text, data: [UInt8](repeating: 0, count: 8))
    #expect(throws: defect(.trailingBytes(count: 4, after: 4))) { try open(bytes) }
  }

  @Test func missingFile() {
    #expect(throws: WeightError.unreadable(path: path, reason: "No such file or directory")) {
      try SafeTensorsFile(path: path)
    }
  }

  @Test func directoryInsteadOfFile() {
    #expect(throws: WeightError.unreadable(path: directory.path, reason: "Is a directory")) {
      try SafeTensorsFile(path: directory.path)
    }
  }

  @Test func characterDevice() {
    #expect(throws: WeightError.unreadable(path: "/dev/null", reason: "not a regular file")) {
      try SafeTensorsFile(path: "/dev/null")
    }
  }

  /// Root reads files whatever their mode, so this cannot be tested when the suite runs as root.
  @Test(.enabled(if: geteuid() != 0, "root bypasses file permissions"))
  func fileWithoutReadPermission() throws {
    try safeTensorsBytes(header: "{}").write(to: URL(fileURLWithPath: path))
    chmod(path, 0o200)
    #expect(throws: WeightError.unreadable(path: path, reason: "Permission denied")) {
      try SafeTensorsFile(path: path)
    }
  }

  @Test func errorMessageNamesTheFileAndTheProblem() {
    let error = defect(.overlap(tensor: "b", other: "a"))
    #expect(
      error.localizedDescription
        == "\(path): not a valid safetensors file: tensor 'b' overlaps tensor 'a'")
  }
}

/// Files the reference accepts, some of them at the edges of the rules.
@Suite struct SafeTensorsEdgeCaseTests {
  @Test func emptyHeaderWithoutTensors() throws {
    let file = try SafeTensorsFile(bytes: safeTensorsBytes(header: "{}"), path: "x")
    #expect(file.names.isEmpty && file.metadata.isEmpty)
  }

  @Test func zeroSizedTensorsMayShareAnOffset() throws {
    let text =
      #"{"a":{"dtype":"F32","shape":[0],"data_offsets":[0,0]},"b":{"dtype":"F16","shape":[2,0],"data_offsets":[0,0]},"c":{"dtype":"F32","shape":[],"data_offsets":[0,4]}}"#
    let file = try SafeTensorsFile(
      bytes: safeTensorsBytes(header: text, data: [0, 0, 0x80, 0x3F]), path: "x")
    #expect(try file.tensor("a").shape == [0])
    #expect(try file.tensor("b").shape == [2, 0])
    #expect(try file.tensor("c") == Tensor(shape: [], scalars: [1]))
  }

  @Test func headerPaddedWithSpacesAndUnknownFieldsIgnored() throws {
    let text = #"{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4],"extra":{"x":[1]}}}    "#
    let file = try SafeTensorsFile(
      bytes: safeTensorsBytes(header: text, data: [0, 0, 0x80, 0x3F]), path: "x")
    #expect(try file.tensor("a").scalars == [1])
  }

  /// Looser than the reference (serde rejects `2.0` for an unsigned integer); documented in
  /// ``SafeTensorsFile``.
  @Test func integralFloatExtentsAreAccepted() throws {
    let text = #"{"a":{"dtype":"F32","shape":[1.0],"data_offsets":[0,4]}}"#
    let file = try SafeTensorsFile(
      bytes: safeTensorsBytes(header: text, data: [0, 0, 0x80, 0x3F]), path: "x")
    #expect(file.entries["a"]?.shape == [1])
  }
}
