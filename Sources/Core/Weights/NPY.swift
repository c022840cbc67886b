import Foundation

/// NumPy's `.npy` array files.
///
/// Layout: the magic `\x93NUMPY`, a version (major, minor), a little-endian header length (2
/// bytes in version 1.0, 4 bytes in 2.0 and 3.0), a Python dict literal
/// `{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }` padded with spaces and a newline
/// so the data starts 64-byte aligned, then the elements.
///
/// The writer produces version 1.0 exactly as `numpy.save` does (same header text and padding,
/// so the files are byte-identical). The reader accepts versions 1.0 to 3.0 in C order with the
/// little-endian dtypes `<f2`, `<f4`, `<f8` and `<i8`; like `numpy.load` it refuses headers over
/// 10,000 bytes. Where it is stricter than `numpy.load`: it rejects bytes after the array data
/// (`numpy.load` ignores them, e.g. a second array saved to the same file), and it does not
/// byte-swap big-endian files.
public enum NPY {
  static let magic: [UInt8] = [0x93] + Array("NUMPY".utf8)
  /// Alignment of the data start (numpy's `ARRAY_ALIGN`).
  static let dataAlignment = 64
  /// Spaces numpy reserves so the leading axis can grow in place (`GROWTH_AXIS_MAX_DIGITS`).
  static let growthAxisDigits = 21
  /// Largest header `numpy.load` parses by default (its `max_header_size`).
  static let maximumHeaderLength = 10_000

  /// Writes `array` to `path` as an NPY 1.0 file in C order (`<f4`, `<f8` or `<i8`), atomically
  /// (see ``writeAtomically(_:to:)``).
  ///
  /// - Parameter array: any shape, including `[]` (a scalar) and shapes with a 0 extent.
  public static func write(_ array: NamedArray, to path: String) throws {
    let header = try encodeHeader(descr: array.values.npyDescr, shape: array.shape, path: path)
    let file = try AtomicFile(path: path)
    try file.write(header)
    try array.values.withUnsafeBytes { try file.write($0) }
    try file.commit()
  }

  /// The array in `path` in its stored precision: `<f4`, `<f8` and `<i8` as they are, `<f2`
  /// widened to float32. Its name is the file name without `.npy`.
  public static func read(_ path: String) throws -> NamedArray {
    try decode(MappedFile.map(path), path: path)
  }

  /// ``read(_:)`` for the bytes of a file called `path` (used in errors).
  package static func decode(_ bytes: Data, path: String) throws -> NamedArray {
    let file = try parse(bytes, path: path)
    switch file.descr {
    case "<f4":
      return NamedArray(file.name, shape: file.shape, values: .float32(file.copy(as: Float.self)))
    case "<f8":
      return NamedArray(file.name, shape: file.shape, values: .float64(file.copy(as: Double.self)))
    case "<i8":
      return NamedArray(file.name, shape: file.shape, values: .int64(file.copy(as: Int64.self)))
    default: return NamedArray(file.name, try file.floats())
    }
  }

  /// The float array in `path` as a ``Tensor`` of the stored shape: `<f4` as is, `<f2` and `<f8`
  /// converted to Float32 (rounded to nearest). Integer arrays throw
  /// ``WeightError/unsupportedDType(path:key:dtype:)``.
  public static func readTensor(_ path: String) throws -> Tensor {
    try open(path).floats()
  }

  // MARK: Writing

  static func encodeHeader(descr: String, shape: [Int], path: String) throws -> Data {
    let shapeText =
      switch shape.count {
      case 0: "()"
      case 1: "(\(shape[0]),)"
      default: "(" + shape.map(String.init).joined(separator: ", ") + ")"
      }
    var text = "{'descr': '\(descr)', 'fortran_order': False, 'shape': \(shapeText), }"
    if let leading = shape.first {
      text += String(repeating: " ", count: max(0, growthAxisDigits - String(leading).count))
    }
    let prefixLength = magic.count + 2 + MemoryLayout<UInt16>.size
    let unpadded = text.utf8.count + 1  // + the closing newline
    let padding = dataAlignment - (prefixLength + unpadded) % dataAlignment
    guard let headerLength = UInt16(exactly: unpadded + padding) else {
      throw WeightError.unwritable(
        path: path, reason: "shape \(shape) needs a header too long for NPY 1.0")
    }
    var out = Data(magic)
    out.append(contentsOf: [1, 0])
    withUnsafeBytes(of: headerLength.littleEndian) { out.append(contentsOf: $0) }
    out.append(contentsOf: Array(text.utf8))
    out.append(contentsOf: [UInt8](repeating: UInt8(ascii: " "), count: padding))
    out.append(UInt8(ascii: "\n"))
    return out
  }

  // MARK: Reading

  /// A validated, memory-mapped `.npy` file.
  struct File {
    let path: String
    let name: String
    let descr: String
    let shape: [Int]
    let count: Int
    let bytes: Data
    let dataStart: Int

    func copy<Element>(as: Element.Type) -> [Element] {
      bytes.withUnsafeBytes { raw in
        [Element](unsafeUninitializedCapacity: count) { out, initialized in
          let byteCount = count * MemoryLayout<Element>.size
          UnsafeMutableRawBufferPointer(out).copyMemory(
            from: UnsafeRawBufferPointer(rebasing: raw[dataStart..<(dataStart + byteCount)]))
          initialized = count
        }
      }
    }

    func floats() throws -> Tensor {
      switch descr {
      case "<f4": return Tensor(shape: shape, scalars: copy(as: Float.self))
      case "<f2":
        return Tensor(
          shape: shape, scalars: copy(as: UInt16.self).map { Float(Float16(bitPattern: $0)) })
      case "<f8": return Tensor(shape: shape, scalars: copy(as: Double.self).map { Float($0) })
      default: throw WeightError.unsupportedDType(path: path, key: name, dtype: descr)
      }
    }
  }

  static let elementSizes = ["<f2": 2, "<f4": 4, "<f8": 8, "<i8": 8]

  static func open(_ path: String) throws -> File {
    try parse(MappedFile.map(path), path: path)
  }

  /// Validates `bytes` as the contents of a `.npy` file called `path` (used in errors).
  static func parse(_ bytes: Data, path: String) throws -> File {
    func invalid(_ defect: NPYDefect) -> WeightError { .invalidNPY(path: path, defect) }
    let prefix = [UInt8](bytes.prefix(magic.count + 2))
    guard prefix.count == magic.count + 2, Array(prefix.prefix(magic.count)) == magic else {
      throw invalid(.badMagic)
    }
    let (major, minor) = (prefix[magic.count], prefix[magic.count + 1])
    let lengthSize: Int
    switch (major, minor) {
    case (1, 0): lengthSize = 2
    case (2, 0), (3, 0): lengthSize = 4
    default: throw invalid(.unsupportedVersion(major: major, minor: minor))
    }
    let lengthEnd = prefix.count + lengthSize
    guard bytes.count >= lengthEnd else { throw invalid(.truncatedHeader) }
    // Offsets below count from the start of the file, wherever `bytes` starts.
    let base = bytes.startIndex
    let headerLength = bytes[(base + prefix.count)..<(base + lengthEnd)].reversed().reduce(0) {
      $0 << 8 | Int($1)
    }
    guard headerLength <= maximumHeaderLength else {
      throw invalid(.headerTooLarge(length: headerLength, limit: maximumHeaderLength))
    }
    let dataStart = lengthEnd + headerLength
    guard bytes.count >= dataStart else { throw invalid(.truncatedHeader) }
    // Versions 1 and 2 store the header as Latin-1, version 3 as UTF-8; the keys and values we
    // accept are ASCII either way, so other bytes only ever appear inside a rejected value.
    let headerText = String(decoding: bytes[(base + lengthEnd)..<(base + dataStart)], as: UTF8.self)
    let header: HeaderParser.Value
    do { header = try HeaderParser.parse(headerText) } catch {
      throw invalid(.invalidHeader(error.reason))
    }
    guard case .dictionary(let entries) = header,
      Set(entries.map(\.key)) == ["descr", "fortran_order", "shape"], entries.count == 3
    else {
      throw invalid(.invalidHeader("not a dict of exactly 'descr', 'fortran_order' and 'shape'"))
    }
    let fields = Dictionary(entries.map { ($0.key, $0.value) }, uniquingKeysWith: { a, _ in a })

    guard case .bool(let fortranOrder) = fields["fortran_order"] else {
      throw invalid(.invalidHeader("'fortran_order' is not True or False"))
    }
    guard case .sequence(let extents) = fields["shape"] else {
      throw invalid(.invalidHeader("'shape' is not a tuple"))
    }
    var shape: [Int] = []
    for extent in extents {
      guard case .integer(let n) = extent, n >= 0 else {
        throw invalid(.invalidHeader("'shape' holds something other than non-negative integers"))
      }
      shape.append(n)
    }
    let descr: String
    switch fields["descr"] {
    case .string(let text): descr = text
    case .sequence: throw invalid(.structuredDType)
    default: throw invalid(.invalidHeader("'descr' is not a string"))
    }
    if descr.drop(while: { "<>|=".contains($0) }).hasPrefix("O") { throw invalid(.objectArray) }
    if descr.hasPrefix(">") { throw invalid(.bigEndian(descr: descr)) }
    guard let elementSize = elementSizes[descr] else {
      throw invalid(.unsupportedDType(descr: descr))
    }
    // After the dtype checks, so an object array is reported as such whatever its order.
    if fortranOrder { throw invalid(.fortranOrder) }

    var count = 1
    var overflow = false
    for extent in shape {
      (count, overflow) = count.multipliedReportingOverflow(by: extent)
      if overflow { throw invalid(.sizeOverflow(shape: shape)) }
    }
    let (byteCount, byteOverflow) = count.multipliedReportingOverflow(by: elementSize)
    if byteOverflow { throw invalid(.sizeOverflow(shape: shape)) }
    let available = bytes.count - dataStart
    if available < byteCount {
      throw invalid(.truncatedData(expected: byteCount, actual: available))
    }
    if available > byteCount {
      throw invalid(.trailingData(expected: byteCount, actual: available))
    }

    let name = ((path as NSString).lastPathComponent as NSString).deletingPathExtension
    return File(
      path: path, name: name, descr: descr, shape: shape, count: count, bytes: bytes,
      dataStart: dataStart)
  }
}

/// A parser for the Python literal subset that `.npy` headers use: a dict with string keys whose
/// values are strings, `True`/`False`/`None`, integers, and tuples or lists of these.
private struct HeaderParser {
  enum Value {
    case string(String)
    case bool(Bool)
    case none
    case integer(Int)
    case sequence([Value])
    case dictionary([(key: String, value: Value)])
  }

  /// Nesting deeper than any real header (structured dtypes nest a few levels).
  static let maximumDepth = 32

  private var characters: [Character]
  private var index = 0

  /// Why the text did not parse.
  struct SyntaxError: Error {
    let reason: String
  }

  static func parse(_ text: String) throws(SyntaxError) -> Value {
    var parser = HeaderParser(characters: Array(text))
    let value = try parser.value(depth: 0)
    parser.skipSpace()
    guard parser.index == parser.characters.count else { throw parser.error("text after the dict") }
    return value
  }

  private func error(_ reason: String) -> SyntaxError { SyntaxError(reason: reason) }

  private mutating func skipSpace() {
    while index < characters.count, characters[index].isWhitespace { index += 1 }
  }

  private mutating func value(depth: Int) throws(SyntaxError) -> Value {
    guard depth < Self.maximumDepth else { throw error("nested too deeply") }
    skipSpace()
    guard index < characters.count else { throw error("ends early") }
    switch characters[index] {
    case "'", "\"": return .string(try string())
    case "{": return .dictionary(try dictionary(depth: depth))
    case "(": return .sequence(try sequence(closing: ")", depth: depth))
    case "[": return .sequence(try sequence(closing: "]", depth: depth))
    default:
      var word = ""
      while index < characters.count,
        characters[index].isLetter || characters[index].isNumber
          || characters[index] == "-"
      {
        word.append(characters[index])
        index += 1
      }
      switch word {
      case "True": return .bool(true)
      case "False": return .bool(false)
      case "None": return .none
      default:
        // Python 2 era numpy wrote shape extents as longs (`3L`).
        guard let n = Int(word.hasSuffix("L") ? String(word.dropLast()) : word) else {
          throw error("unexpected '\(word.isEmpty ? String(characters[index]) : word)'")
        }
        return .integer(n)
      }
    }
  }

  private mutating func string() throws(SyntaxError) -> String {
    let quote = characters[index]
    index += 1
    var text = ""
    while index < characters.count, characters[index] != quote {
      // numpy's keys and dtype strings never need escapes; refusing them keeps this exact.
      if characters[index] == "\\" { throw error("escape sequences in strings are not supported") }
      text.append(characters[index])
      index += 1
    }
    guard index < characters.count else { throw error("unterminated string") }
    index += 1
    return text
  }

  private mutating func sequence(closing: Character, depth: Int) throws(SyntaxError) -> [Value] {
    index += 1
    var items: [Value] = []
    while true {
      skipSpace()
      guard index < characters.count else { throw error("unterminated tuple or list") }
      if characters[index] == closing {
        index += 1
        return items
      }
      items.append(try value(depth: depth + 1))
      skipSpace()
      guard index < characters.count else { throw error("unterminated tuple or list") }
      if characters[index] == "," {
        index += 1
      } else if characters[index] != closing {
        throw error("expected ',' or '\(closing)'")
      }
    }
  }

  private mutating func dictionary(depth: Int) throws(SyntaxError) -> [(key: String, value: Value)]
  {
    index += 1
    var entries: [(key: String, value: Value)] = []
    while true {
      skipSpace()
      guard index < characters.count else { throw error("unterminated dict") }
      if characters[index] == "}" {
        index += 1
        return entries
      }
      guard characters[index] == "'" || characters[index] == "\"" else {
        throw error("dict key is not a string")
      }
      let key = try string()
      skipSpace()
      guard index < characters.count, characters[index] == ":" else {
        throw error("expected ':' after '\(key)'")
      }
      index += 1
      entries.append((key, try value(depth: depth + 1)))
      skipSpace()
      guard index < characters.count else { throw error("unterminated dict") }
      if characters[index] == "," {
        index += 1
      } else if characters[index] != "}" {
        throw error("expected ',' or '}'")
      }
    }
  }
}

/// What is wrong with a `.npy` file, or what in it mmencode does not read.
public enum NPYDefect: Error, Sendable, Equatable, CustomStringConvertible {
  /// Does not start with `\x93NUMPY` and a version.
  case badMagic
  case unsupportedVersion(major: UInt8, minor: UInt8)
  /// The file ends inside the header.
  case truncatedHeader
  case headerTooLarge(length: Int, limit: Int)
  case invalidHeader(String)
  case fortranOrder
  /// Object arrays hold pickled Python objects.
  case objectArray
  case bigEndian(descr: String)
  /// Record arrays (a list as `descr`).
  case structuredDType
  case unsupportedDType(descr: String)
  case sizeOverflow(shape: [Int])
  /// The file ends before the data the header announces.
  case truncatedData(expected: Int, actual: Int)
  /// More bytes follow the data the header announces.
  case trailingData(expected: Int, actual: Int)

  public var description: String {
    switch self {
    case .badMagic: "does not start with the NPY magic \\x93NUMPY"
    case .unsupportedVersion(let major, let minor): "unsupported format version \(major).\(minor)"
    case .truncatedHeader: "the file ends inside the header"
    case .headerTooLarge(let length, let limit):
      "header of \(length) bytes exceeds numpy's limit of \(limit)"
    case .invalidHeader(let reason): "invalid header: \(reason)"
    case .fortranOrder:
      "Fortran-ordered arrays are not supported (save numpy.ascontiguousarray(a) instead)"
    case .objectArray: "object arrays are not supported (they need pickle)"
    case .bigEndian(let descr):
      "big-endian dtype '\(descr)' is not supported (save a.astype('<f4'))"
    case .structuredDType: "structured (record) dtypes are not supported"
    case .unsupportedDType(let descr):
      "dtype '\(descr)' is not supported (use <f2, <f4, <f8 or <i8)"
    case .sizeOverflow(let shape): "shape \(shape) is too large"
    case .truncatedData(let expected, let actual):
      "truncated: the header announces \(expected) data bytes, the file has \(actual)"
    case .trailingData(let expected, let actual):
      "\(actual - expected) bytes after the \(expected) data bytes the header announces"
    }
  }
}

extension ArrayValues {
  /// The dtype string a `.npy` header uses for these values.
  var npyDescr: String {
    switch self {
    case .float32: "<f4"
    case .float64: "<f8"
    case .int64: "<i8"
    }
  }
}
