import Foundation
import ZIPFoundation

/// A PyTorch `.pt` file written by `torch.save(state_dict, path)`, read without Python and without
/// running any of its pickle.
///
/// `torch.save` (PyTorch 1.6 and later) writes a zip archive whose entries all sit in one folder
/// named after the file at save time:
/// - `<name>/data.pkl`: the state dict, pickled (protocol 2); each tensor is a strided view of a
///   storage that the pickle names by key (see ``StateDictPickle``).
/// - `<name>/data/<key>`: one storage's raw elements, stored uncompressed (data aligned to 64 bytes).
/// - `<name>/byteorder`: `little` or `big` (older archives lack it and are little-endian).
/// - `<name>/version`, `.format_version`, `.storage_alignment`, `.data/serialization_id`: unused here.
///
/// Opening reads and checks the pickle and every storage's size, so a view that does not fit its
/// storage fails at once; storage bytes are read only when a tensor is asked for, one storage at a
/// time, so a multi-gigabyte checkpoint is never held in memory whole. TorchScript archives
/// (`torch.jit.save`) and the pre-1.6 format are refused with errors that say so.
public final class TorchArchive: @unchecked Sendable {
  /// The file that was opened.
  public let path: String
  /// The folder inside the archive that holds its records (`<name>` above).
  public let recordPrefix: String
  private let records: [String: TorchTensorRecord]
  /// Zip entry of each storage, by storage key.
  private let storageEntries: [String: Entry]
  private let bigEndian: Bool
  /// ZIPFoundation reads through one `FILE *`, so reads are serialised.
  private let archive: Archive
  private let lock = NSLock()

  /// Largest `data.pkl` accepted: a state dict pickle needs ~100 bytes per tensor.
  static let maxPickleBytes = 64 << 20
  /// Bytes per read when streaming a storage out of the archive.
  static let readChunkBytes = 1 << 20
  /// The zip local-file-header signature, which every torch.save archive starts with.
  private static let zipMagic: [UInt8] = [0x50, 0x4B, 0x03, 0x04]
  /// The start of a pre-1.6 `torch.save` file: PROTO 2, then LONG1 of the magic number
  /// 0x1950a86a20f9469cfc6c.
  private static let legacyMagic: [UInt8] = [
    0x80, 0x02, 0x8A, 0x0A, 0x6C, 0xFC, 0x9C, 0x46, 0xF9, 0x20, 0x6A, 0xA8, 0x50, 0x19,
  ]

  /// Opens `path` and validates its pickle and storage records; throws ``WeightError``.
  public init(path: String) throws {
    self.path = path
    func malformed(_ reason: String) -> WeightError { .malformed(path: path, reason: reason) }

    var isDirectory: ObjCBool = false
    guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
      throw WeightError.unreadable(path: path, reason: "no such file or directory")
    }
    if isDirectory.boolValue { throw WeightError.unreadable(path: path, reason: "is a directory") }
    let head: [UInt8]
    let fileSize: UInt64
    do {
      let handle = try FileHandle(forReadingFrom: URL(fileURLWithPath: path))
      defer { try? handle.close() }
      head = [UInt8](try handle.read(upToCount: Self.legacyMagic.count) ?? Data())
      fileSize = try handle.seekToEnd()
    } catch {
      throw WeightError.unreadable(path: path, reason: describe(error))
    }
    guard head.starts(with: Self.zipMagic) else {
      if head.isEmpty { throw malformed("empty file") }
      if head == Self.legacyMagic {
        throw malformed(
          "legacy torch.save format (PyTorch before 1.6, or _use_new_zipfile_serialization=False); "
            + "load it in Python and save it again with a current torch.save")
      }
      throw malformed("not a zip archive, so not a torch.save file (PyTorch 1.6 or later)")
    }
    do {
      archive = try Archive(url: URL(fileURLWithPath: path), accessMode: .read)
    } catch {
      throw malformed("not a readable zip archive (truncated or corrupt): \(error)")
    }

    var entries: [String: Entry] = [:]
    for entry in archive {
      guard entries.updateValue(entry, forKey: entry.path) == nil else {
        throw malformed("zip entry '\(entry.path)' appears twice")
      }
    }
    let pickles = entries.keys.filter { name in
      let parts = name.split(separator: "/", omittingEmptySubsequences: false)
      return parts.count == 2 && !parts[0].isEmpty && parts[1] == "data.pkl"
    }
    guard pickles.count == 1, let pickleName = pickles.first else {
      if entries.keys.contains(where: { $0.hasSuffix("/constants.pkl") }) { throw malformed(Self.torchScriptReason) }
      throw malformed(
        pickles.isEmpty
          ? "no <name>/data.pkl record, so not a torch.save archive"
          : "several data.pkl records: \(pickles.sorted().joined(separator: ", "))")
    }
    let prefix = String(pickleName.dropLast("/data.pkl".count))
    recordPrefix = prefix
    if entries["\(prefix)/constants.pkl"] != nil || entries.keys.contains(where: { $0.hasPrefix("\(prefix)/code/") }) {
      throw malformed(Self.torchScriptReason)
    }

    if let entry = entries["\(prefix)/byteorder"] {
      let order = try Self.readWhole(entry, limit: 16, from: archive, path: path)
      switch String(decoding: order, as: UTF8.self) {
      case "little": bigEndian = false
      case "big": bigEndian = true
      case let other: throw malformed("record '\(entry.path)' names an unknown byte order '\(other)'")
      }
    } else {
      bigEndian = false  // archives from before the record existed were always little-endian
    }

    let pickle = try Self.readWhole(entries[pickleName]!, limit: Self.maxPickleBytes, from: archive, path: path)
    let parsed: [(name: String, tensor: TorchTensorRecord)]
    do {
      parsed = try StateDictPickle.parse(pickle)
    } catch {
      throw malformed("\(pickleName) \(error)")
    }

    var records: [String: TorchTensorRecord] = [:]
    var storageEntries: [String: Entry] = [:]
    for (name, tensor) in parsed {
      records[name] = tensor
      let storage = tensor.storage
      let recordName = "\(prefix)/data/\(storage.key)"
      guard let entry = entries[recordName], entry.type == .file else {
        throw malformed("entry '\(name)': its storage record '\(recordName)' is missing")
      }
      let (bytes, overflow) = storage.elementCount.multipliedReportingOverflow(by: storage.dtype.byteWidth)
      guard !overflow, entry.uncompressedSize == UInt64(bytes) else {
        throw malformed(
          "entry '\(name)': storage record '\(recordName)' holds \(entry.uncompressedSize) bytes, but the "
            + "pickle declares \(storage.elementCount) \(storage.dtype.rawValue) elements (\(bytes) bytes)")
      }
      guard entry.isCompressed || entry.compressedSize <= fileSize else {
        throw malformed("storage record '\(recordName)' claims \(entry.compressedSize) bytes, more than the whole file")
      }
      storageEntries[storage.key] = entry
    }
    self.records = records
    self.storageEntries = storageEntries
  }

  private static let torchScriptReason =
    "TorchScript archive (torch.jit.save), not a state dict: load it with torch.jit.load and "
    + "torch.save its state_dict()"

  /// Every tensor name in the state dict, sorted.
  public var names: [String] { records.keys.sorted() }

  /// Whether the state dict has a tensor called `name`.
  public func contains(_ name: String) -> Bool { records[name] != nil }

  /// Shape of `name` as torch.load would give it.
  public func shape(of name: String) throws -> [Int] { try record(name).shape }

  /// Stored dtype of `name`, named as in safetensors headers (`F32`, `F16`, `BF16`, `F64`, `I64`, ...).
  public func dtype(of name: String) throws -> String { try record(name).storage.dtype.rawValue }

  /// The tensor `name` as a dense row-major Float32 tensor of ``shape(of:)``.
  ///
  /// F32 is copied bit for bit and F16 / BF16 are widened exactly; any stride, storage offset or
  /// shared storage is resolved. Other dtypes throw ``WeightError/unsupportedDType(path:key:dtype:)``.
  public func tensor(_ name: String) throws -> Tensor {
    let tensor = try record(name)
    let scalars: [Float]
    switch tensor.storage.dtype {
    case .float32: scalars = try elements(of: tensor, name, UInt32.self) { Float(bitPattern: $0) }
    case .float16: scalars = try elements(of: tensor, name, UInt16.self) { Float(Float16(bitPattern: $0)) }
    case .bfloat16: scalars = try elements(of: tensor, name, UInt16.self) { Float(bitPattern: UInt32($0) << 16) }
    default: throw WeightError.unsupportedDType(path: path, key: name, dtype: tensor.storage.dtype.rawValue)
    }
    return Tensor(shape: tensor.shape, scalars: scalars)
  }

  /// The array `name` in the closest ``ArrayValues`` type: floats as in ``tensor(_:)``, F64 as is,
  /// integer and bool dtypes widened to Int64.
  public func array(_ name: String) throws -> NamedArray {
    let tensor = try record(name)
    let values: ArrayValues
    switch tensor.storage.dtype {
    case .float32, .float16, .bfloat16: return NamedArray(name, try self.tensor(name))
    case .float64: values = .float64(try elements(of: tensor, name, UInt64.self) { Double(bitPattern: $0) })
    case .int64: values = .int64(try elements(of: tensor, name, UInt64.self) { Int64(bitPattern: $0) })
    case .int32: values = .int64(try elements(of: tensor, name, UInt32.self) { Int64(Int32(bitPattern: $0)) })
    case .int16: values = .int64(try elements(of: tensor, name, UInt16.self) { Int64(Int16(bitPattern: $0)) })
    case .int8: values = .int64(try elements(of: tensor, name, UInt8.self) { Int64(Int8(bitPattern: $0)) })
    case .uint8: values = .int64(try elements(of: tensor, name, UInt8.self) { Int64($0) })
    case .bool: values = .int64(try elements(of: tensor, name, UInt8.self) { $0 == 0 ? 0 : 1 })
    }
    return NamedArray(name, shape: tensor.shape, values: values)
  }

  private func record(_ name: String) throws -> TorchTensorRecord {
    guard let record = records[name] else { throw WeightError.missingTensor(path: path, key: name) }
    return record
  }

  /// The elements of `tensor` in row-major order, each loaded as `Stored` (in the archive's byte
  /// order) and converted.
  private func elements<Stored: FixedWidthInteger, Value>(
    of tensor: TorchTensorRecord, _ name: String, _: Stored.Type, _ convert: (Stored) -> Value
  ) throws -> [Value] {
    let count = tensor.elementCount
    if count == 0 { return [] }
    let width = MemoryLayout<Stored>.size
    let bytes = try storageBytes(
      tensor.storage, elements: tensor.storageOffset..<tensor.storageEnd, for: name)
    let shape = tensor.shape
    let strides = tensor.strides
    let swap = bigEndian
    return bytes.withUnsafeBytes { raw in
      func load(_ element: Int) -> Value {
        let stored = raw.loadUnaligned(fromByteOffset: element * width, as: Stored.self)
        return convert(swap ? stored.byteSwapped : stored)
      }
      return [Value](unsafeUninitializedCapacity: count) { out, initialized in
        if Self.isRowMajor(shape: shape, strides: strides) {
          for i in 0..<count { out[i] = load(i) }
        } else {
          // Walk the view's index space in row-major order, tracking the storage element.
          var index = [Int](repeating: 0, count: shape.count)
          var element = 0
          for i in 0..<count {
            out[i] = load(element)
            var axis = shape.count - 1
            while axis >= 0 {
              index[axis] += 1
              element += strides[axis]
              if index[axis] < shape[axis] { break }
              element -= strides[axis] * shape[axis]
              index[axis] = 0
              axis -= 1
            }
          }
        }
        initialized = count
      }
    }
  }

  /// Whether a view with these strides lays its elements out densely in row-major order.
  private static func isRowMajor(shape: [Int], strides: [Int]) -> Bool {
    var expected = 1
    for (extent, stride) in zip(shape, strides).reversed() {
      if extent != 1 && stride != expected { return false }
      expected *= extent
    }
    return true
  }

  /// Bytes of storage elements `elements` (a non-empty range inside the storage), streamed out of
  /// the archive; the whole record is read so that its CRC-32 is checked.
  private func storageBytes(_ storage: TorchStorage, elements: Range<Int>, for name: String) throws -> [UInt8] {
    let entry = storageEntries[storage.key]!
    let width = storage.dtype.byteWidth
    let wanted = (elements.lowerBound * width)..<(elements.upperBound * width)
    var bytes: [UInt8] = []
    bytes.reserveCapacity(wanted.count)
    var position = 0
    let checksum: CRC32
    lock.lock()
    defer { lock.unlock() }
    do {
      checksum = try archive.extract(entry, bufferSize: Self.readChunkBytes) { [path] chunk in
        guard UInt64(position + chunk.count) <= entry.uncompressedSize else {
          throw WeightError.malformed(
            path: path, reason: "entry '\(name)': storage record '\(entry.path)' inflates past its declared size")
        }
        let chunkRange = position..<(position + chunk.count)
        let overlap = chunkRange.clamped(to: wanted)
        if !overlap.isEmpty {
          let start = overlap.lowerBound - position
          chunk.withUnsafeBytes { raw in
            bytes.append(contentsOf: UnsafeRawBufferPointer(rebasing: raw[start..<(start + overlap.count)]))
          }
        }
        position += chunk.count
      }
    } catch let error as WeightError {
      throw error
    } catch {
      throw WeightError.malformed(
        path: path, reason: "entry '\(name)': cannot read storage record '\(entry.path)': \(error)")
    }
    guard UInt64(position) == entry.uncompressedSize else {
      throw WeightError.malformed(
        path: path,
        reason: "entry '\(name)': storage record '\(entry.path)' ends after \(position) of \(entry.uncompressedSize) bytes")
    }
    guard checksum == entry.checksum else {
      throw WeightError.malformed(
        path: path, reason: "entry '\(name)': storage record '\(entry.path)' fails its CRC-32 check (corrupt file)")
    }
    return bytes
  }

  /// The whole of a small record, CRC-checked.
  private static func readWhole(_ entry: Entry, limit: Int, from archive: Archive, path: String) throws -> [UInt8] {
    guard entry.uncompressedSize <= UInt64(limit) else {
      throw WeightError.malformed(
        path: path, reason: "record '\(entry.path)' is \(entry.uncompressedSize) bytes, more than the \(limit) allowed")
    }
    var bytes: [UInt8] = []
    let checksum: CRC32
    do {
      checksum = try archive.extract(entry, bufferSize: readChunkBytes) { chunk in
        guard UInt64(bytes.count + chunk.count) <= entry.uncompressedSize else {
          throw WeightError.malformed(path: path, reason: "record '\(entry.path)' inflates past its declared size")
        }
        chunk.withUnsafeBytes { bytes.append(contentsOf: $0) }
      }
    } catch let error as WeightError {
      throw error
    } catch {
      throw WeightError.malformed(path: path, reason: "cannot read record '\(entry.path)': \(error)")
    }
    guard UInt64(bytes.count) == entry.uncompressedSize, checksum == entry.checksum else {
      throw WeightError.malformed(path: path, reason: "record '\(entry.path)' is truncated or fails its CRC-32 check")
    }
    return bytes
  }
}
