import Foundation

/// A safetensors file, memory-mapped and validated when opened.
///
/// Layout: an 8-byte little-endian header length `N`, `N` bytes of JSON mapping each tensor name
/// to `{dtype, shape, data_offsets}` (plus an optional `__metadata__` string map), then the data.
/// Opening checks the whole header (dtypes, offsets inside the data, no overlaps, byte counts
/// that fit the shapes), so later reads cannot go out of bounds.
public final class SafeTensorsFile: @unchecked Sendable {
  /// One tensor's place in the file.
  public struct Entry: Sendable, Equatable {
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

  /// Byte width of each dtype the safetensors format defines.
  static let dtypeSizes: [String: Int] = [
    "BOOL": 1, "U8": 1, "I8": 1, "F8_E4M3": 1, "F8_E5M2": 1, "I16": 2, "U16": 2, "F16": 2,
    "BF16": 2, "I32": 4, "U32": 4, "F32": 4, "F64": 8, "I64": 8, "U64": 8,
  ]

  /// Opens and validates `path`; throws ``WeightError`` for unreadable or malformed files.
  public init(path: String) throws {
    self.path = path
    let data: Data
    do {
      data = try Data(contentsOf: URL(fileURLWithPath: path), options: .alwaysMapped)
    } catch {
      throw WeightError.unreadable(path: path, reason: describe(error))
    }
    func malformed(_ reason: String) -> WeightError { .malformed(path: path, reason: reason) }
    if data.isEmpty { throw malformed("empty file") }
    if data.count < 8 { throw malformed("truncated: \(data.count) bytes, no header length") }
    let headerLength = data.prefix(8).withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) }
      .littleEndian
    guard headerLength <= UInt64(data.count - 8) else {
      throw malformed("header length \(headerLength) runs past the end of the file (\(data.count) bytes)")
    }
    let headerEnd = 8 + Int(headerLength)
    guard
      let json = try? JSONSerialization.jsonObject(with: data.subdata(in: 8..<headerEnd)),
      let header = json as? [String: Any]
    else { throw malformed("header is not a JSON object") }

    var metadata: [String: String] = [:]
    var entries: [String: Entry] = [:]
    let dataSize = data.count - headerEnd
    for (name, value) in header {
      if name == "__metadata__" {
        guard let map = value as? [String: String] else {
          throw malformed("__metadata__ is not a map of strings")
        }
        metadata = map
        continue
      }
      guard let info = value as? [String: Any], let dtype = info["dtype"] as? String,
        let shape = (info["shape"] as? [Any])?.compactMap({ ($0 as? NSNumber)?.intValue }),
        let offsets = (info["data_offsets"] as? [Any])?.compactMap({ ($0 as? NSNumber)?.intValue }),
        shape.count == (info["shape"] as? [Any])?.count, offsets.count == 2
      else { throw malformed("tensor '\(name)' has no valid dtype, shape and data_offsets") }
      guard let width = Self.dtypeSizes[dtype] else {
        throw malformed("tensor '\(name)' has unknown dtype \(dtype)")
      }
      guard shape.allSatisfy({ $0 >= 0 }) else {
        throw malformed("tensor '\(name)' has a negative extent in shape \(shape)")
      }
      let (begin, end) = (offsets[0], offsets[1])
      guard begin >= 0, begin <= end, end <= dataSize else {
        throw malformed(
          "tensor '\(name)' offsets [\(begin), \(end)] are outside the data section (\(dataSize) bytes)")
      }
      let (elements, overflow) = shape.reduce((1, false)) { acc, d in
        let (p, o) = acc.0.multipliedReportingOverflow(by: d)
        return (p, acc.1 || o)
      }
      guard !overflow, elements.multipliedReportingOverflow(by: width).partialValue == end - begin,
        !elements.multipliedReportingOverflow(by: width).overflow
      else {
        throw malformed(
          "tensor '\(name)' holds \(end - begin) bytes, but \(dtype) \(shape) needs \(elements &* width)")
      }
      entries[name] = Entry(dtype: dtype, shape: shape, range: begin..<end)
    }
    // Zero-size tensors occupy no bytes, so they may share an offset with their neighbour.
    let sorted = entries.filter { !$0.value.range.isEmpty }.sorted { $0.value.range.lowerBound < $1.value.range.lowerBound }
    for (a, b) in zip(sorted, sorted.dropFirst())
    where b.value.range.lowerBound < a.value.range.upperBound {
      throw malformed("tensors '\(a.key)' and '\(b.key)' overlap")
    }
    self.metadata = metadata
    self.entries = entries
    self.bytes = data
    self.dataStart = headerEnd
  }

  /// Tensor names, sorted.
  public var names: [String] { entries.keys.sorted() }

  /// The tensor `name` widened to Float32; F32, F16 and BF16 are accepted.
  public func tensor(_ name: String) throws -> Tensor {
    guard let entry = entries[name] else { throw WeightError.missingTensor(path: path, key: name) }
    let count = entry.shape.reduce(1, *)
    let scalars: [Float]
    switch entry.dtype {
    case "F32": scalars = load(entry, count, Float.self) { $0 }
    case "F16": scalars = load(entry, count, UInt16.self) { Float(Float16(bitPattern: $0)) }
    case "BF16": scalars = load(entry, count, UInt16.self) { Float(bitPattern: UInt32($0) << 16) }
    default: throw WeightError.unsupportedDType(path: path, key: name, dtype: entry.dtype)
    }
    return Tensor(shape: entry.shape, scalars: scalars)
  }

  /// The array `name` in its stored dtype: F32 (F16/BF16 widened to it), F64 or I64.
  public func array(_ name: String) throws -> NamedArray {
    guard let entry = entries[name] else { throw WeightError.missingTensor(path: path, key: name) }
    let count = entry.shape.reduce(1, *)
    switch entry.dtype {
    case "F64":
      return NamedArray(name, shape: entry.shape, values: .float64(load(entry, count, Double.self) { $0 }))
    case "I64":
      return NamedArray(name, shape: entry.shape, values: .int64(load(entry, count, Int64.self) { $0 }))
    default:
      return NamedArray(name, try tensor(name))
    }
  }

  private func load<Stored, Value>(
    _ entry: Entry, _ count: Int, _: Stored.Type, _ convert: (Stored) -> Value
  ) -> [Value] {
    bytes.withUnsafeBytes { raw in
      let base = raw.baseAddress! + dataStart + entry.range.lowerBound
      return [Value](unsafeUninitializedCapacity: count) { out, initialized in
        for i in 0..<count {
          out[i] = convert(base.loadUnaligned(fromByteOffset: i * MemoryLayout<Stored>.size, as: Stored.self))
        }
        initialized = count
      }
    }
  }
}

/// Writes `arrays` (in the given order) and `metadata` as a safetensors file, atomically: the
/// bytes go to a temporary file in the same directory, are flushed to disk, then renamed over
/// `path`, so readers never see a partial file.
public func writeSafeTensors(_ arrays: [NamedArray], metadata: [String: String] = [:], to path: String)
  throws
{
  var header: [String: Any] = [:]
  if !metadata.isEmpty { header["__metadata__"] = metadata }
  var offset = 0
  for a in arrays {
    let (dtype, width) =
      switch a.values {
      case .float32: ("F32", 4)
      case .float64: ("F64", 8)
      case .int64: ("I64", 8)
      }
    let size = a.values.count * width
    header[a.name] = ["dtype": dtype, "shape": a.shape, "data_offsets": [offset, offset + size]]
    offset += size
  }
  var json = try JSONSerialization.data(withJSONObject: header, options: [.sortedKeys])
  // Pad with spaces so the data section starts 8-byte aligned, as the reference writer does.
  json.append(contentsOf: [UInt8](repeating: 0x20, count: (8 - json.count % 8) % 8))
  var out = Data(capacity: 8 + json.count + offset)
  withUnsafeBytes(of: UInt64(json.count).littleEndian) { out.append(contentsOf: $0) }
  out.append(json)
  for a in arrays {
    switch a.values {
    case .float32(let v): v.withUnsafeBytes { out.append(contentsOf: $0) }
    case .float64(let v): v.withUnsafeBytes { out.append(contentsOf: $0) }
    case .int64(let v): v.withUnsafeBytes { out.append(contentsOf: $0) }
    }
  }
  try writeAtomically(out, to: path)
}
