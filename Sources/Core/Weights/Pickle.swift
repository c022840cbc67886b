/// A restricted reader for the pickle that `torch.save` writes for a state dict.
///
/// The pickle is not run: a small stack machine interprets the subset of opcodes that a state dict
/// needs, and the few callables it names (`collections.OrderedDict`,
/// `torch._utils._rebuild_tensor_v2`, `torch._utils._rebuild_parameter`, the typed storage
/// classes) are recognised by name at the `GLOBAL` opcode and *interpreted* in Swift when reduced.
/// Any other global is refused at the `GLOBAL` opcode itself, before anything could call it, and
/// every opcode outside the subset is refused by name. Sizes are checked against the bytes left,
/// and the stack, mark nesting, memo and object count are capped, so a hostile pickle ends in a
/// ``PickleError``, never a crash or an unbounded allocation.
///
/// The subset is protocol 2 as `torch.save` writes it (PROTO, GLOBAL, BINPUT/BINGET and their long
/// forms, MARK, EMPTY_TUPLE/LIST/DICT, TUPLE/TUPLE1-3, BINUNICODE, BININT/BININT1/BININT2, LONG1,
/// BINFLOAT, NONE, NEWTRUE/NEWFALSE, BINPERSID, REDUCE, BUILD, SETITEM(S), APPEND(S), STOP) plus
/// the inert protocol 4 framing opcodes (FRAME, MEMOIZE, SHORT_BINUNICODE, STACK_GLOBAL) that
/// `torch.save(..., pickle_protocol=4)` adds.

/// Element type of a torch storage, named as in safetensors headers.
package enum TorchDType: String, Sendable, CaseIterable {
  case float32 = "F32"
  case float16 = "F16"
  case bfloat16 = "BF16"
  case float64 = "F64"
  case int64 = "I64"
  case int32 = "I32"
  case int16 = "I16"
  case int8 = "I8"
  case uint8 = "U8"
  case bool = "BOOL"

  /// Bytes per element.
  package var byteWidth: Int {
    switch self {
    case .float64, .int64: 8
    case .float32, .int32: 4
    case .float16, .bfloat16, .int16: 2
    case .int8, .uint8, .bool: 1
    }
  }

  /// The legacy typed-storage class in module `torch` that `torch.save` names for this dtype.
  package var storageClass: String {
    switch self {
    case .float32: "FloatStorage"
    case .float16: "HalfStorage"
    case .bfloat16: "BFloat16Storage"
    case .float64: "DoubleStorage"
    case .int64: "LongStorage"
    case .int32: "IntStorage"
    case .int16: "ShortStorage"
    case .int8: "CharStorage"
    case .uint8: "ByteStorage"
    case .bool: "BoolStorage"
    }
  }
}

/// One storage that tensors of the state dict view: the record `<archive>/data/<key>`.
package struct TorchStorage: Sendable, Equatable {
  /// Record name under `<archive>/data/`.
  package let key: String
  package let dtype: TorchDType
  /// Elements the pickle declares the storage to hold.
  package let elementCount: Int

  package init(key: String, dtype: TorchDType, elementCount: Int) {
    self.key = key
    self.dtype = dtype
    self.elementCount = elementCount
  }
}

/// A tensor as `torch._utils._rebuild_tensor_v2` describes it: a strided view of a storage.
package struct TorchTensorRecord: Sendable, Equatable {
  package let storage: TorchStorage
  /// Index of element `[0, ..., 0]` in the storage, in elements.
  package let storageOffset: Int
  package let shape: [Int]
  /// Step in storage elements per index of each axis (non-negative; 0 for broadcast axes).
  package let strides: [Int]
  /// Number of elements of the tensor.
  package let elementCount: Int
  /// One past the highest storage element the view touches (0 for an empty tensor).
  package let storageEnd: Int
}

/// Why a state dict pickle was refused.
package struct PickleError: Error, Equatable, CustomStringConvertible {
  /// Byte offset of the opcode that failed, or nil for a problem with the finished result.
  package let offset: Int?
  package let reason: String

  package var description: String {
    if let offset { "byte \(offset): \(reason)" } else { reason }
  }
}

/// Decoding of a state dict pickle into tensor records.
package enum StateDictPickle {
  /// Most values the stack may hold at once.
  package static let maxStackDepth = 1 << 20
  /// Deepest nesting of MARKs (a state dict needs 3).
  package static let maxMarkDepth = 1 << 10
  /// Most memo entries.
  package static let maxMemoEntries = 1 << 20
  /// Most containers, storages and tensors the pickle may build.
  package static let maxObjects = 1 << 22
  /// Most axes of a tensor.
  package static let maxRank = 64
  /// Longest line of a GLOBAL opcode (module or name).
  package static let maxGlobalLine = 1 << 10

  /// The `(name, tensor)` entries of the state dict in `bytes`, in pickle order.
  ///
  /// The top-level object must be a dict or `OrderedDict` whose values are all tensors (an
  /// `nn.Parameter` counts as its tensor). Each view is checked to lie inside the storage size that
  /// its persistent id declares.
  package static func parse(_ bytes: [UInt8]) throws(PickleError) -> [(name: String, tensor: TorchTensorRecord)] {
    var machine = Machine(bytes: bytes)
    let result = try machine.run()
    return try machine.stateDict(from: result)
  }
}

// MARK: - The machine

/// A callable or class that the subset may name.
private enum Global: Equatable {
  case orderedDict
  case rebuildTensor
  case rebuildParameter
  case storageType(TorchDType)

  init?(module: String, name: String) {
    switch (module, name) {
    case ("collections", "OrderedDict"): self = .orderedDict
    case ("torch._utils", "_rebuild_tensor_v2"): self = .rebuildTensor
    case ("torch._utils", "_rebuild_parameter"): self = .rebuildParameter
    case ("torch", _):
      guard let dtype = TorchDType.allCases.first(where: { $0.storageClass == name }) else { return nil }
      self = .storageType(dtype)
    default: return nil
    }
  }

  var qualifiedName: String {
    switch self {
    case .orderedDict: "collections.OrderedDict"
    case .rebuildTensor: "torch._utils._rebuild_tensor_v2"
    case .rebuildParameter: "torch._utils._rebuild_parameter"
    case .storageType(let dtype): "torch.\(dtype.storageClass)"
    }
  }

  static let allowedList =
    "collections.OrderedDict, torch._utils._rebuild_tensor_v2, torch._utils._rebuild_parameter, "
    + "torch.{" + TorchDType.allCases.map(\.storageClass).joined(separator: ",") + "}"
}

/// A stack value. Containers live in the machine's object table and are referred to by index, so
/// memo references share one mutable container (as in Python) and nothing is nested recursively.
private enum Value {
  case none
  case bool(Bool)
  case int(Int)
  case float(Double)
  case string(String)
  case object(Int)
}

private struct PickleDict {
  let ordered: Bool
  var keys: [String] = []
  var values: [String: Value] = [:]

  mutating func set(_ key: String, _ value: Value) {
    if values.updateValue(value, forKey: key) == nil { keys.append(key) }
  }
}

private enum Object {
  case tuple([Value])
  case list([Value])
  case dict(PickleDict)
  case global(Global)
  case storage(TorchStorage)
  case tensor(TorchTensorRecord)
}

/// Opcodes of the pickle format that the subset refuses, by byte, for error messages.
private let refusedOpcodes: [UInt8: String] = [
  0x49: "INT", 0x4C: "LONG", 0x53: "STRING", 0x54: "BINSTRING", 0x55: "SHORT_BINSTRING",
  0x56: "UNICODE", 0x46: "FLOAT", 0x64: "DICT", 0x67: "GET", 0x69: "INST", 0x6C: "LIST",
  0x6F: "OBJ", 0x70: "PUT", 0x30: "POP", 0x31: "POP_MARK", 0x32: "DUP", 0x50: "PERSID",
  0x81: "NEWOBJ", 0x82: "EXT1", 0x83: "EXT2", 0x84: "EXT4", 0x8B: "LONG4", 0x42: "BINBYTES",
  0x43: "SHORT_BINBYTES", 0x8D: "BINUNICODE8", 0x8E: "BINBYTES8", 0x8F: "EMPTY_SET",
  0x90: "ADDITEMS", 0x91: "FROZENSET", 0x92: "NEWOBJ_EX", 0x96: "BYTEARRAY8", 0x97: "NEXT_BUFFER",
  0x98: "READONLY_BUFFER",
]

/// Highest pickle protocol the format defines.
private let highestProtocol = 5

private struct Machine {
  let bytes: [UInt8]
  var position = 0
  /// Offset of the opcode being run, for error messages.
  var opcodeOffset = 0
  var stack: [Value] = []
  var marks: [Int] = []
  var memo: [Int: Value] = [:]
  var objects: [Object] = []

  init(bytes: [UInt8]) { self.bytes = bytes }

  func fail(_ reason: String) -> PickleError { PickleError(offset: opcodeOffset, reason: reason) }

  // MARK: Reading operands

  mutating func read(_ count: Int, for what: String) throws(PickleError) -> ArraySlice<UInt8> {
    guard count <= bytes.count - position else {
      throw fail("\(what) needs \(count) bytes, but only \(bytes.count - position) remain")
    }
    defer { position += count }
    return bytes[position..<(position + count)]
  }

  /// A little-endian unsigned integer of `width` bytes.
  mutating func readUInt(_ width: Int, for what: String) throws(PickleError) -> UInt64 {
    let raw = try read(width, for: what)
    return raw.reversed().reduce(0) { $0 << 8 | UInt64($1) }
  }

  mutating func readString(lengthWidth: Int) throws(PickleError) -> String {
    let length = try readUInt(lengthWidth, for: "string length")
    guard length <= UInt64(bytes.count - position) else {
      throw fail("string of \(length) bytes runs past the end of the pickle (\(bytes.count - position) bytes left)")
    }
    let raw = try read(Int(length), for: "string")
    guard let text = String(validating: raw, as: UTF8.self) else { throw fail("string is not valid UTF-8") }
    return text
  }

  mutating func readLine() throws(PickleError) -> String {
    let end = bytes[position...].prefix(StateDictPickle.maxGlobalLine).firstIndex(of: 0x0A)
    guard let end else {
      throw fail("GLOBAL operand has no newline within \(StateDictPickle.maxGlobalLine) bytes")
    }
    let raw = bytes[position..<end]
    position = end + 1
    guard let text = String(validating: raw, as: UTF8.self) else { throw fail("GLOBAL operand is not valid UTF-8") }
    return text
  }

  // MARK: Stack, marks, memo, objects

  mutating func push(_ value: Value) throws(PickleError) {
    guard stack.count < StateDictPickle.maxStackDepth else {
      throw fail("stack holds more than \(StateDictPickle.maxStackDepth) values")
    }
    stack.append(value)
  }

  mutating func pop(for what: String) throws(PickleError) -> Value {
    guard let top = stack.last, stack.count > (marks.last ?? 0) else {
      throw fail("\(what) needs a value, but the stack is empty above the last mark")
    }
    stack.removeLast()
    return top
  }

  func top(for what: String) throws(PickleError) -> Value {
    guard let top = stack.last, stack.count > (marks.last ?? 0) else {
      throw fail("\(what) needs a value, but the stack is empty above the last mark")
    }
    return top
  }

  mutating func popToMark(for what: String) throws(PickleError) -> [Value] {
    guard let mark = marks.popLast() else { throw fail("\(what) without a MARK") }
    let items = Array(stack[mark...])
    stack.removeSubrange(mark...)
    return items
  }

  mutating func make(_ object: Object) throws(PickleError) -> Value {
    guard objects.count < StateDictPickle.maxObjects else {
      throw fail("pickle builds more than \(StateDictPickle.maxObjects) objects")
    }
    objects.append(object)
    return .object(objects.count - 1)
  }

  mutating func memoize(_ index: UInt64) throws(PickleError) {
    let value = try top(for: "memo store")
    guard memo.count < StateDictPickle.maxMemoEntries || memo[Int(index)] != nil else {
      throw fail("memo holds more than \(StateDictPickle.maxMemoEntries) entries")
    }
    memo[Int(index)] = value
  }

  mutating func recall(_ index: UInt64) throws(PickleError) {
    guard let value = memo[Int(index)] else { throw fail("memo entry \(index) was never stored") }
    try push(value)
  }

  func typeName(of value: Value) -> String {
    switch value {
    case .none: "None"
    case .bool: "bool"
    case .int: "int"
    case .float: "float"
    case .string: "str"
    case .object(let index):
      switch objects[index] {
      case .tuple: "tuple"
      case .list: "list"
      case .dict(let dict): dict.ordered ? "OrderedDict" : "dict"
      case .global(let global): global.qualifiedName
      case .storage: "storage"
      case .tensor: "tensor"
      }
    }
  }

  // MARK: Running

  mutating func run() throws(PickleError) -> Value {
    while position < bytes.count {
      opcodeOffset = position
      let opcode = bytes[position]
      position += 1
      switch opcode {
      case 0x80:  // PROTO
        let version = try readUInt(1, for: "PROTO")
        guard version >= 2 && version <= UInt64(highestProtocol) else {
          throw fail("pickle protocol \(version) is not supported (torch.save writes 2)")
        }
      case 0x95:  // FRAME: a length hint for buffered reading, nothing to interpret
        let length = try readUInt(8, for: "FRAME")
        guard length <= UInt64(bytes.count - position) else {
          throw fail("FRAME of \(length) bytes runs past the end of the pickle")
        }
      case 0x2E:  // STOP
        return try pop(for: "STOP")
      case 0x28:  // MARK
        guard marks.count < StateDictPickle.maxMarkDepth else {
          throw fail("MARKs nest deeper than \(StateDictPickle.maxMarkDepth)")
        }
        marks.append(stack.count)
      case 0x7D:  // EMPTY_DICT
        try push(make(.dict(PickleDict(ordered: false))))
      case 0x5D:  // EMPTY_LIST
        try push(make(.list([])))
      case 0x29:  // EMPTY_TUPLE
        try push(make(.tuple([])))
      case 0x74:  // TUPLE
        let items = try popToMark(for: "TUPLE")
        try push(make(.tuple(items)))
      case 0x85, 0x86, 0x87:  // TUPLE1, TUPLE2, TUPLE3
        var items: [Value] = []
        for _ in 0..<Int(opcode - 0x84) { items.insert(try pop(for: "TUPLE\(opcode - 0x84)"), at: 0) }
        try push(make(.tuple(items)))
      case 0x58:  // BINUNICODE
        try push(.string(readString(lengthWidth: 4)))
      case 0x8C:  // SHORT_BINUNICODE
        try push(.string(readString(lengthWidth: 1)))
      case 0x71:  // BINPUT
        try memoize(readUInt(1, for: "BINPUT"))
      case 0x72:  // LONG_BINPUT
        try memoize(readUInt(4, for: "LONG_BINPUT"))
      case 0x94:  // MEMOIZE
        try memoize(UInt64(memo.count))
      case 0x68:  // BINGET
        try recall(readUInt(1, for: "BINGET"))
      case 0x6A:  // LONG_BINGET
        try recall(readUInt(4, for: "LONG_BINGET"))
      case 0x63:  // GLOBAL
        let module = try readLine()
        let name = try readLine()
        try pushGlobal(module: module, name: name)
      case 0x93:  // STACK_GLOBAL
        guard case .string(let name) = try pop(for: "STACK_GLOBAL"),
          case .string(let module) = try pop(for: "STACK_GLOBAL")
        else { throw fail("STACK_GLOBAL needs two strings") }
        try pushGlobal(module: module, name: name)
      case 0x51:  // BINPERSID
        try push(persistentLoad(pop(for: "BINPERSID")))
      case 0x4A:  // BININT (signed 32-bit)
        try push(.int(Int(Int32(bitPattern: UInt32(readUInt(4, for: "BININT"))))))
      case 0x4B:  // BININT1
        try push(.int(Int(readUInt(1, for: "BININT1"))))
      case 0x4D:  // BININT2
        try push(.int(Int(readUInt(2, for: "BININT2"))))
      case 0x8A:  // LONG1: little-endian two's complement of n bytes
        let width = Int(try readUInt(1, for: "LONG1"))
        guard width <= 8 else { throw fail("LONG1 integer of \(width) bytes does not fit 64 bits") }
        let raw = try readUInt(width, for: "LONG1")
        let shift = UInt64(64 - 8 * width)
        try push(.int(width == 0 ? 0 : Int(Int64(bitPattern: raw << shift) >> Int64(shift))))
      case 0x47:  // BINFLOAT (big-endian)
        let raw = try read(8, for: "BINFLOAT")
        try push(.float(Double(bitPattern: raw.reduce(0) { $0 << 8 | UInt64($1) })))
      case 0x4E:  // NONE
        try push(.none)
      case 0x88:  // NEWTRUE
        try push(.bool(true))
      case 0x89:  // NEWFALSE
        try push(.bool(false))
      case 0x52:  // REDUCE
        let arguments = try pop(for: "REDUCE")
        let callable = try pop(for: "REDUCE")
        try push(reduce(callable, arguments))
      case 0x62:  // BUILD
        let state = try pop(for: "BUILD")
        try build(try top(for: "BUILD"), state: state)
      case 0x73:  // SETITEM
        let value = try pop(for: "SETITEM")
        let key = try pop(for: "SETITEM")
        try setItems(try top(for: "SETITEM"), [key, value])
      case 0x75:  // SETITEMS
        let items = try popToMark(for: "SETITEMS")
        try setItems(try top(for: "SETITEMS"), items)
      case 0x61:  // APPEND
        let value = try pop(for: "APPEND")
        try append(try top(for: "APPEND"), [value])
      case 0x65:  // APPENDS
        let items = try popToMark(for: "APPENDS")
        try append(try top(for: "APPENDS"), items)
      default:
        let hex = "0x" + String(opcode, radix: 16)
        if let name = refusedOpcodes[opcode] {
          throw fail("opcode \(name) (\(hex)) is not part of the state dict subset")
        }
        throw fail("unknown opcode \(hex)")
      }
    }
    throw PickleError(offset: bytes.count, reason: "pickle ends without STOP")
  }

  // MARK: Opcodes with meaning

  mutating func pushGlobal(module: String, name: String) throws(PickleError) {
    guard let global = Global(module: module, name: name) else {
      throw fail("global '\(module).\(name)' is not allowed in a state dict (allowed: \(Global.allowedList))")
    }
    try push(make(.global(global)))
  }

  /// `torch.save` pickles a storage as the persistent id
  /// `('storage', torch.<Type>Storage, key, location, element count)`.
  mutating func persistentLoad(_ id: Value) throws(PickleError) -> Value {
    guard case .object(let index) = id, case .tuple(let fields) = objects[index], fields.count == 5,
      case .string("storage") = fields[0], case .object(let typeIndex) = fields[1],
      case .global(.storageType(let dtype)) = objects[typeIndex],
      case .string(let key) = fields[2], case .string = fields[3], case .int(let count) = fields[4]
    else {
      throw fail("persistent id is not ('storage', torch.<Type>Storage, key, location, element count)")
    }
    guard !key.isEmpty, key.utf8.count <= 64,
      key.unicodeScalars.allSatisfy({ ("a"..."z") ~= $0 || ("A"..."Z") ~= $0 || ("0"..."9") ~= $0 || $0 == "_" })
    else { throw fail("storage key '\(key)' is not a plain record name") }
    guard count >= 0 else { throw fail("storage '\(key)' declares \(count) elements") }
    return try make(.storage(TorchStorage(key: key, dtype: dtype, elementCount: count)))
  }

  mutating func reduce(_ callable: Value, _ arguments: Value) throws(PickleError) -> Value {
    guard case .object(let index) = callable, case .global(let global) = objects[index] else {
      throw fail("REDUCE calls an object of type \(typeName(of: callable)), not an allowed global")
    }
    guard case .object(let argumentIndex) = arguments, case .tuple(let args) = objects[argumentIndex] else {
      throw fail("REDUCE of \(global.qualifiedName) takes an object of type \(typeName(of: arguments)) instead of an argument tuple")
    }
    switch global {
    case .orderedDict:
      guard args.isEmpty else {
        throw fail("collections.OrderedDict is called with \(args.count) arguments; torch.save passes none")
      }
      return try make(.dict(PickleDict(ordered: true)))
    case .rebuildTensor:
      return try make(.tensor(rebuildTensor(args)))
    case .rebuildParameter:
      // _rebuild_parameter(data, requires_grad, backward_hooks) wraps the tensor `data` unchanged.
      guard args.count == 3, case .object(let tensorIndex) = args[0], case .tensor = objects[tensorIndex],
        case .bool = args[1], isEmptyDict(args[2])
      else {
        throw fail("torch._utils._rebuild_parameter takes (tensor, requires_grad, empty backward hooks)")
      }
      return args[0]
    case .storageType(let dtype):
      throw fail("torch.\(dtype.storageClass) may only name a storage's type, not be called")
    }
  }

  /// `_rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad, backward_hooks[, metadata])`.
  func rebuildTensor(_ args: [Value]) throws(PickleError) -> TorchTensorRecord {
    let signature =
      "torch._utils._rebuild_tensor_v2 takes (storage, offset, size, stride, requires_grad, "
      + "backward_hooks[, metadata])"
    guard args.count == 6 || args.count == 7, case .object(let storageIndex) = args[0],
      case .storage(let storage) = objects[storageIndex], case .int(let offset) = args[1],
      let shape = ints(args[2]), let strides = ints(args[3]), case .bool = args[4]
    else { throw fail(signature) }
    guard isEmptyDict(args[5]) else { throw fail("tensor backward hooks are not supported") }
    if args.count == 7 {
      switch args[6] {
      case .none: break
      case let metadata where isEmptyDict(metadata): break
      default: throw fail("tensor metadata other than an empty dict is not supported")
      }
    }
    guard shape.count == strides.count else {
      throw fail("tensor size \(shape) and stride \(strides) differ in rank")
    }
    guard shape.count <= StateDictPickle.maxRank else {
      throw fail("tensor has \(shape.count) axes, more than \(StateDictPickle.maxRank)")
    }
    guard offset >= 0, shape.allSatisfy({ $0 >= 0 }), strides.allSatisfy({ $0 >= 0 }) else {
      throw fail("tensor offset \(offset), size \(shape) or stride \(strides) is negative")
    }
    var count = 1
    var lastIndex = offset
    for (extent, stride) in zip(shape, strides) {
      let (product, countOverflow) = count.multipliedReportingOverflow(by: extent)
      let (step, stepOverflow) = (Swift.max(extent, 1) - 1).multipliedReportingOverflow(by: stride)
      let (sum, sumOverflow) = lastIndex.addingReportingOverflow(step)
      guard !countOverflow, !stepOverflow, !sumOverflow else {
        throw fail("tensor size \(shape) with stride \(strides) overflows")
      }
      (count, lastIndex) = (product, sum)
    }
    // As in torch, an empty tensor needs no storage at all, whatever its offset.
    return TorchTensorRecord(
      storage: storage, storageOffset: offset, shape: shape, strides: strides, elementCount: count,
      storageEnd: count == 0 ? 0 : lastIndex + 1)
  }

  func ints(_ value: Value) -> [Int]? {
    guard case .object(let index) = value, case .tuple(let items) = objects[index] else { return nil }
    var result: [Int] = []
    for item in items {
      guard case .int(let number) = item else { return nil }
      result.append(number)
    }
    return result
  }

  func isEmptyDict(_ value: Value) -> Bool {
    guard case .object(let index) = value, case .dict(let dict) = objects[index] else { return false }
    return dict.keys.isEmpty
  }

  /// BUILD sets attributes: a module's state dict carries `_metadata` (per-module versions) this
  /// way. Attributes are accepted on dicts only and ignored, since they hold no tensors.
  mutating func build(_ target: Value, state: Value) throws(PickleError) {
    guard case .object(let index) = target, case .dict = objects[index] else {
      throw fail("BUILD on an object of type \(typeName(of: target)) is not supported (only a state dict's attributes)")
    }
    guard case .object(let stateIndex) = state, case .dict = objects[stateIndex] else {
      throw fail("BUILD state has type \(typeName(of: state)), not a dict of attributes")
    }
  }

  mutating func setItems(_ target: Value, _ items: [Value]) throws(PickleError) {
    guard case .object(let index) = target, case .dict(var dict) = objects[index] else {
      throw fail("SETITEM(S) on an object of type \(typeName(of: target)), not a dict")
    }
    guard items.count % 2 == 0 else { throw fail("SETITEMS with an odd number of values") }
    objects[index] = .list([])  // drop the table's copy so the dict is updated in place
    for pair in stride(from: 0, to: items.count, by: 2) {
      guard case .string(let key) = items[pair] else {
        objects[index] = .dict(dict)
        throw fail("dict key has type \(typeName(of: items[pair])), not str")
      }
      dict.set(key, items[pair + 1])
    }
    objects[index] = .dict(dict)
  }

  mutating func append(_ target: Value, _ items: [Value]) throws(PickleError) {
    guard case .object(let index) = target, case .list(var list) = objects[index] else {
      throw fail("APPEND(S) on an object of type \(typeName(of: target)), not a list")
    }
    objects[index] = .list([])
    list += items
    objects[index] = .list(list)
  }

  // MARK: The result

  func stateDict(from result: Value) throws(PickleError) -> [(name: String, tensor: TorchTensorRecord)] {
    guard case .object(let index) = result, case .dict(let dict) = objects[index] else {
      throw PickleError(offset: nil, reason: "the pickle holds an object of type \(typeName(of: result)), not a state dict (a dict of tensors)")
    }
    var entries: [(name: String, tensor: TorchTensorRecord)] = []
    entries.reserveCapacity(dict.keys.count)
    for name in dict.keys {
      let value = dict.values[name]!
      guard case .object(let valueIndex) = value, case .tensor(let tensor) = objects[valueIndex] else {
        var reason = "entry '\(name)' has type \(typeName(of: value)), not a tensor"
        if case .object(let valueIndex) = value, case .dict = objects[valueIndex] {
          reason += " (a training checkpoint? save model.state_dict() on its own)"
        }
        throw PickleError(offset: nil, reason: reason)
      }
      guard tensor.storageEnd <= tensor.storage.elementCount else {
        throw PickleError(
          offset: nil,
          reason: "entry '\(name)': a view of shape \(tensor.shape), stride \(tensor.strides) at offset "
            + "\(tensor.storageOffset) reaches storage element \(tensor.storageEnd - 1), but storage "
            + "'\(tensor.storage.key)' holds \(tensor.storage.elementCount) elements")
      }
      entries.append((name, tensor))
    }
    return entries
  }
}
