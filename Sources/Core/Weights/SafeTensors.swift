import Foundation

/// A safetensors file, memory-mapped and validated when opened.
///
/// Layout: an 8-byte little-endian header length `N`, `N` bytes of UTF-8 JSON mapping each tensor
/// name to `{"dtype", "shape", "data_offsets": [begin, end]}` (plus an optional `__metadata__`
/// map of strings), then the data section. Offsets are relative to the data section.
///
/// Opening applies the rules of the reference implementation (`safetensors` 0.8, Rust
/// `SafeTensors::read_metadata` and `Metadata::validate`, which Python's `load_file` also runs):
/// - the header length is at most 100,000,000 bytes and ends inside the file;
/// - the header is UTF-8 JSON whose top level is an object; every entry other than
///   `__metadata__` has a known dtype, a shape of non-negative integers and two offsets;
///   `__metadata__` maps strings to strings;
/// - sorted by offset, the tensors tile the data section exactly: the first starts at 0, each
///   starts where the previous ends, the last ends at the end of the file (no gaps, no overlaps,
///   no trailing bytes);
/// - each tensor's byte count is its element count times the dtype width, computed without
///   overflow, and whole bytes for the sub-byte dtypes.
///
/// Where this reader differs: it names the specific defect where the reference reports a generic
/// one (an unknown dtype is a JSON error there, an out-of-range offset "incomplete metadata");
/// it accepts integral JSON numbers written as floats (`3.0`) where serde rejects them; and for
/// a repeated key the first entry counts where serde keeps the last, and a repeated
/// `__metadata__` is accepted where serde reports a duplicate field. A repeated tensor key whose
/// entries differ still fails, because the dropped entry leaves a gap in the data section.
public final class SafeTensorsFile: @unchecked Sendable {
  /// One tensor's place in the file.
  public struct Entry: Sendable, Equatable {
    /// The stored dtype as the format spells it (`F32`, `F16`, `BF16`, `I64`, ...).
    public let dtype: String
    public let shape: [Int]
    /// Byte range inside the data section.
    public let range: Range<Int>
  }

  /// The file's path, as given.
  public let path: String
  /// The `__metadata__` map (empty when absent).
  public let metadata: [String: String]
  /// Every tensor, by name.
  public let entries: [String: Entry]
  private let bytes: Data
  private let dataStart: Int

  /// Largest header the reference accepts; also bounds what a corrupt length can make us parse.
  static let maximumHeaderLength: UInt64 = 100_000_000
  /// Bytes of the little-endian header length that opens the file.
  static let lengthPrefixSize = 8

  /// Bits per element of each dtype the safetensors format defines.
  static let dtypeBits: [String: Int] = [
    "BOOL": 8, "F4": 4, "F6_E2M3": 6, "F6_E3M2": 6, "U8": 8, "I8": 8, "F8_E5M2": 8, "F8_E4M3": 8,
    "F8_E8M0": 8, "F8_E4M3FNUZ": 8, "F8_E5M2FNUZ": 8, "I16": 16, "U16": 16, "F16": 16, "BF16": 16,
    "I32": 32, "U32": 32, "F32": 32, "C64": 64, "F64": 64, "I64": 64, "U64": 64,
  ]

  /// Maps and validates `path`; throws ``WeightError`` for unreadable or invalid files.
  public convenience init(path: String) throws {
    try self.init(bytes: MappedFile.map(path), path: path)
  }

  /// Validates `bytes` as the contents of a safetensors file called `path` (used in errors).
  package init(bytes: Data, path: String) throws {
    self.path = path
    func invalid(_ defect: SafeTensorsDefect) -> WeightError {
      .invalidSafeTensors(path: path, defect)
    }
    if bytes.isEmpty { throw invalid(.empty) }
    if bytes.count < Self.lengthPrefixSize { throw invalid(.noHeaderLength(fileSize: bytes.count)) }
    let headerLength = bytes.withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) }.littleEndian
    if headerLength > Self.maximumHeaderLength {
      throw invalid(.headerTooLarge(length: headerLength, limit: Self.maximumHeaderLength))
    }
    guard headerLength <= UInt64(bytes.count - Self.lengthPrefixSize) else {
      throw invalid(.headerPastEnd(length: headerLength, fileSize: bytes.count))
    }
    let headerEnd = Self.lengthPrefixSize + Int(headerLength)
    let header = try Self.parseHeader(
      bytes[(bytes.startIndex + Self.lengthPrefixSize)..<(bytes.startIndex + headerEnd)], invalid)
    let dataSize = bytes.count - headerEnd

    var entries: [String: Entry] = [:]
    // In name order, so a file with several defects always reports the same one.
    for (name, info) in header.tensors.sorted(by: { $0.0 < $1.0 }) {
      guard let bits = Self.dtypeBits[info.dtype] else {
        throw invalid(.unknownDType(tensor: name, dtype: info.dtype))
      }
      var elements = 1
      var overflow = false
      for extent in info.shape {
        (elements, overflow) = elements.multipliedReportingOverflow(by: extent)
        if overflow { throw invalid(.sizeOverflow(tensor: name, shape: info.shape)) }
      }
      let (totalBits, bitsOverflow) = elements.multipliedReportingOverflow(by: bits)
      if bitsOverflow { throw invalid(.sizeOverflow(tensor: name, shape: info.shape)) }
      if totalBits % 8 != 0 {
        throw invalid(.partialByte(tensor: name, dtype: info.dtype, shape: info.shape))
      }
      let (begin, end) = (info.begin, info.end)
      if end < begin { throw invalid(.reversedOffsets(tensor: name, begin: begin, end: end)) }
      if end > dataSize {
        throw invalid(.offsetsPastEnd(tensor: name, begin: begin, end: end, dataSize: dataSize))
      }
      if end - begin != totalBits / 8 {
        throw invalid(
          .byteCountMismatch(
            tensor: name, dtype: info.dtype, shape: info.shape, bytes: end - begin,
            needed: totalBits / 8))
      }
      entries[name] = Entry(dtype: info.dtype, shape: info.shape, range: begin..<end)
    }

    var covered = 0
    var previous: String?
    let ordered = entries.sorted {
      ($0.value.range.lowerBound, $0.value.range.upperBound, $0.key)
        < ($1.value.range.lowerBound, $1.value.range.upperBound, $1.key)
    }
    for (name, entry) in ordered {
      if entry.range.lowerBound < covered, let previous {
        throw invalid(.overlap(tensor: name, other: previous))
      }
      if entry.range.lowerBound > covered {
        throw invalid(.gap(from: covered, to: entry.range.lowerBound, before: name))
      }
      covered = entry.range.upperBound
      previous = name
    }
    if covered != dataSize {
      throw invalid(.trailingBytes(count: dataSize - covered, after: covered))
    }

    self.metadata = header.metadata
    self.entries = entries
    self.bytes = bytes
    self.dataStart = headerEnd
  }

  /// Tensor names, sorted.
  public var names: [String] { entries.keys.sorted() }

  /// The tensor `name` widened to Float32; F32, F16 and BF16 are accepted.
  public func tensor(_ name: String) throws -> Tensor {
    let entry = try entry(name)
    let count = entry.shape.reduce(1, *)
    let scalars: [Float]
    switch entry.dtype {
    case "F32": scalars = copy(entry, count, as: Float.self)
    case "F16": scalars = convert(entry, count, UInt16.self) { Float(Float16(bitPattern: $0)) }
    case "BF16":
      scalars = convert(entry, count, UInt16.self) { Float(bitPattern: UInt32($0) << 16) }
    default: throw WeightError.unsupportedDType(path: path, key: name, dtype: entry.dtype)
    }
    return Tensor(shape: entry.shape, scalars: scalars)
  }

  /// The array `name` in its stored precision: F64 and I64 as they are, F32 (and F16, BF16
  /// widened to it) as float32.
  public func array(_ name: String) throws -> NamedArray {
    let entry = try entry(name)
    let count = entry.shape.reduce(1, *)
    switch entry.dtype {
    case "F64":
      return NamedArray(
        name, shape: entry.shape, values: .float64(copy(entry, count, as: Double.self)))
    case "I64":
      return NamedArray(
        name, shape: entry.shape, values: .int64(copy(entry, count, as: Int64.self)))
    default: return NamedArray(name, try tensor(name))
    }
  }

  private func entry(_ name: String) throws -> Entry {
    guard let entry = entries[name] else { throw WeightError.missingTensor(path: path, key: name) }
    return entry
  }

  /// The elements of `entry` as stored; the data may be unaligned, which a byte copy tolerates.
  private func copy<Element>(_ entry: Entry, _ count: Int, as: Element.Type) -> [Element] {
    bytes.withUnsafeBytes { raw in
      [Element](unsafeUninitializedCapacity: count) { out, initialized in
        let start = dataStart + entry.range.lowerBound
        UnsafeMutableRawBufferPointer(out).copyMemory(
          from: UnsafeRawBufferPointer(rebasing: raw[start..<(start + entry.range.count)]))
        initialized = count
      }
    }
  }

  private func convert<Stored, Value>(
    _ entry: Entry, _ count: Int, _: Stored.Type, _ widen: (Stored) -> Value
  ) -> [Value] {
    bytes.withUnsafeBytes { raw in
      let base = raw.baseAddress! + dataStart + entry.range.lowerBound
      return [Value](unsafeUninitializedCapacity: count) { out, initialized in
        for i in 0..<count {
          out[i] = widen(
            base.loadUnaligned(fromByteOffset: i * MemoryLayout<Stored>.size, as: Stored.self))
        }
        initialized = count
      }
    }
  }

  // MARK: Header

  private struct Header: Decodable {
    struct TensorInfo {
      let dtype: String
      let shape: [Int]
      let begin: Int
      let end: Int
    }
    var metadata: [String: String] = [:]
    var tensors: [(String, TensorInfo)] = []

    private struct Key: CodingKey {
      let stringValue: String
      init(stringValue: String) { self.stringValue = stringValue }
      var intValue: Int? { nil }
      init?(intValue: Int) { nil }
    }

    private struct RawInfo: Decodable {
      let dtype: String
      let shape: [Int]
      let dataOffsets: [Int]
      enum CodingKeys: String, CodingKey {
        case dtype, shape
        case dataOffsets = "data_offsets"
      }
    }

    static let metadataKey = "__metadata__"

    /// Throws a ``SafeTensorsDefect`` for a structurally wrong header; JSONDecoder passes it on.
    init(from decoder: Decoder) throws {
      guard let container = try? decoder.container(keyedBy: Key.self) else {
        throw SafeTensorsDefect.headerNotObject
      }
      for key in container.allKeys {
        let name = key.stringValue
        if name == Self.metadataKey {
          guard let map = try? container.decode([String: String].self, forKey: key) else {
            throw SafeTensorsDefect.metadataNotStrings
          }
          metadata = map
          continue
        }
        guard let raw = try? container.decode(RawInfo.self, forKey: key),
          raw.dataOffsets.count == 2,
          raw.shape.allSatisfy({ $0 >= 0 }), raw.dataOffsets.allSatisfy({ $0 >= 0 })
        else { throw SafeTensorsDefect.invalidTensorInfo(tensor: name) }
        tensors.append(
          (
            name,
            TensorInfo(
              dtype: raw.dtype, shape: raw.shape, begin: raw.dataOffsets[0], end: raw.dataOffsets[1]
            )
          ))
      }
    }
  }

  private static func parseHeader(
    _ bytes: Data, _ invalid: (SafeTensorsDefect) -> WeightError
  ) throws -> Header {
    // JSON parsers differ in how they treat bad UTF-8 inside strings; the reference checks the
    // whole header before parsing, so do the same.
    guard
      bytes.withUnsafeBytes({ String(validating: $0.bindMemory(to: UInt8.self), as: UTF8.self) })
        != nil
    else { throw invalid(.headerNotUTF8) }
    do {
      return try JSONDecoder().decode(Header.self, from: bytes)
    } catch let defect as SafeTensorsDefect {
      throw invalid(defect)
    } catch {
      throw invalid(.headerNotJSON)
    }
  }
}

/// What is wrong with a safetensors file.
public enum SafeTensorsDefect: Error, Sendable, Equatable, CustomStringConvertible {
  case empty
  /// Fewer than 8 bytes: not even the header length is there.
  case noHeaderLength(fileSize: Int)
  case headerTooLarge(length: UInt64, limit: UInt64)
  /// The header length points past the end of the file.
  case headerPastEnd(length: UInt64, fileSize: Int)
  case headerNotUTF8
  case headerNotJSON
  /// Valid JSON whose top level is not an object.
  case headerNotObject
  /// An entry without a valid dtype string, shape of non-negative integers and two offsets.
  case invalidTensorInfo(tensor: String)
  case unknownDType(tensor: String, dtype: String)
  case metadataNotStrings
  /// The shape's element count or byte count does not fit in an `Int`.
  case sizeOverflow(tensor: String, shape: [Int])
  /// A sub-byte dtype whose elements do not fill whole bytes.
  case partialByte(tensor: String, dtype: String, shape: [Int])
  case reversedOffsets(tensor: String, begin: Int, end: Int)
  /// The tensor's data ends beyond the data section: offsets out of range, or a truncated file.
  case offsetsPastEnd(tensor: String, begin: Int, end: Int, dataSize: Int)
  case byteCountMismatch(tensor: String, dtype: String, shape: [Int], bytes: Int, needed: Int)
  case overlap(tensor: String, other: String)
  /// Bytes of the data section that no tensor covers, before `before`.
  case gap(from: Int, to: Int, before: String)
  /// Bytes after the last tensor.
  case trailingBytes(count: Int, after: Int)

  public var description: String {
    switch self {
    case .empty: "empty file"
    case .noHeaderLength(let size):
      "truncated: \(size) bytes, too short for the 8-byte header length"
    case .headerTooLarge(let length, let limit):
      "header length \(length) exceeds the limit of \(limit) bytes"
    case .headerPastEnd(let length, let size):
      "header length \(length) runs past the end of the file (\(size) bytes; truncated?)"
    case .headerNotUTF8: "header is not valid UTF-8"
    case .headerNotJSON: "header is not valid JSON"
    case .headerNotObject: "header is not a JSON object"
    case .invalidTensorInfo(let t):
      "tensor '\(t)' lacks a dtype string, a shape of non-negative integers or two non-negative data_offsets"
    case .unknownDType(let t, let dtype): "tensor '\(t)' has unknown dtype '\(dtype)'"
    case .metadataNotStrings: "__metadata__ is not a map from strings to strings"
    case .sizeOverflow(let t, let shape): "tensor '\(t)' shape \(shape) is too large"
    case .partialByte(let t, let dtype, let shape):
      "tensor '\(t)' \(dtype) \(shape) does not fill a whole number of bytes"
    case .reversedOffsets(let t, let b, let e):
      "tensor '\(t)' data_offsets [\(b), \(e)] end before they begin"
    case .offsetsPastEnd(let t, let b, let e, let size):
      "tensor '\(t)' data_offsets [\(b), \(e)] run past the end of the data section (\(size) bytes; truncated?)"
    case .byteCountMismatch(let t, let dtype, let shape, let bytes, let needed):
      "tensor '\(t)' holds \(bytes) bytes, but \(dtype) \(shape) needs \(needed)"
    case .overlap(let t, let other): "tensor '\(t)' overlaps tensor '\(other)'"
    case .gap(let from, let to, let before):
      "data bytes \(from)..<\(to) before tensor '\(before)' belong to no tensor"
    case .trailingBytes(let count, let after):
      "\(count) bytes after the last tensor (which ends at \(after))"
    }
  }
}

/// Writes `arrays` and `metadata` as a safetensors file, atomically (see ``writeAtomically(_:to:)``).
///
/// The header lists tensors in sorted key order; in the data section 8-byte dtypes come before
/// 4-byte ones (as in the reference writer, which sorts by alignment), otherwise in the given
/// order, so every tensor is aligned to its element size. The arrays are streamed to disk, not
/// assembled in memory.
public func writeSafeTensors(
  _ arrays: [NamedArray], metadata: [String: String] = [:], to path: String
)
  throws
{
  var seen = Set<String>()
  for array in arrays where !seen.insert(array.name).inserted || array.name == "__metadata__" {
    throw WeightError.unwritable(
      path: path, reason: "tensor name '\(array.name)' is repeated or reserved")
  }
  let ordered = arrays.enumerated().sorted {
    ($1.element.values.elementSize, $0.offset) < ($0.element.values.elementSize, $1.offset)
  }.map(\.element)
  var header: [String: Any] = [:]
  if !metadata.isEmpty { header["__metadata__"] = metadata }
  var offset = 0
  for array in ordered {
    let size = array.values.count * array.values.elementSize
    header[array.name] = [
      "dtype": array.values.safeTensorsDType, "shape": array.shape,
      "data_offsets": [offset, offset + size],
    ]
    offset += size
  }
  var json = try JSONSerialization.data(
    withJSONObject: header, options: [.sortedKeys, .withoutEscapingSlashes])
  // Pad with spaces so the data section starts 8-byte aligned, as the reference writer does.
  let alignment = SafeTensorsFile.lengthPrefixSize
  json.append(
    contentsOf: [UInt8](
      repeating: UInt8(ascii: " "), count: (alignment - json.count % alignment) % alignment))

  let file = try AtomicFile(path: path)
  try withUnsafeBytes(of: UInt64(json.count).littleEndian) { try file.write($0) }
  try file.write(json)
  for array in ordered { try array.values.withUnsafeBytes { try file.write($0) } }
  try file.commit()
}
