import Core
import Foundation
import TestSupport
import Testing

/// Hand-assembled pickles for the restricted state-dict reader (opcodes as in Python's pickle.py).
private enum Op {
  static let proto2: [UInt8] = [0x80, 0x02]
  static let mark: UInt8 = 0x28
  static let stop: UInt8 = 0x2E
  static let emptyTuple: UInt8 = 0x29
  static let emptyDict: UInt8 = 0x7D
  static let emptyList: UInt8 = 0x5D
  static let tuple: UInt8 = 0x74
  static let reduce: UInt8 = 0x52
  static let build: UInt8 = 0x62
  static let setItems: UInt8 = 0x75
  static let setItem: UInt8 = 0x73
  static let binPersId: UInt8 = 0x51
  static let newFalse: UInt8 = 0x89

  static func global(_ module: String, _ name: String) -> [UInt8] { [0x63] + Array("\(module)\n\(name)\n".utf8) }
  static func string(_ text: String) -> [UInt8] {
    let raw = Array(text.utf8)
    return [0x58] + withUnsafeBytes(of: UInt32(raw.count).littleEndian, Array.init) + raw
  }
  static func int(_ value: UInt8) -> [UInt8] { [0x4B, value] }
  static func ints(_ values: [UInt8]) -> [UInt8] { [mark] + values.flatMap(int) + [tuple] }
  static let orderedDict = global("collections", "OrderedDict") + [emptyTuple, reduce]

  /// `_rebuild_tensor_v2(('storage', FloatStorage, key, 'cpu', count), offset, shape, stride, False, OrderedDict())`.
  static func tensor(key: String = "0", count: UInt8, offset: UInt8 = 0, shape: [UInt8], stride: [UInt8]) -> [UInt8] {
    let storage = [mark] + string("storage") + global("torch", "FloatStorage") + string(key) + string("cpu") + int(count) + [tuple, binPersId]
    let args = storage + int(offset) + ints(shape) + ints(stride) + [newFalse] + orderedDict
    return global("torch._utils", "_rebuild_tensor_v2") + [mark] + args + [tuple, reduce]
  }

  /// OrderedDict({name: value}) followed by STOP.
  static func stateDict(_ name: String, _ value: [UInt8]) -> [UInt8] {
    proto2 + orderedDict + [mark] + string(name) + value + [setItems, stop]
  }
}

private func refusal(_ bytes: [UInt8]) -> PickleError? {
  do {
    _ = try StateDictPickle.parse(bytes)
    return nil
  } catch {
    return error
  }
}

@Test func handMadeStateDictParses() throws {
  let entries = try StateDictPickle.parse(Op.stateDict("w", Op.tensor(count: 6, offset: 1, shape: [2, 2], stride: [3, 1])))
  #expect(entries.count == 1)
  let tensor = try #require(entries.first?.tensor)
  #expect(entries.first?.name == "w")
  #expect(tensor.storage == TorchStorage(key: "0", dtype: .float32, elementCount: 6))
  #expect((tensor.storageOffset, tensor.shape, tensor.strides, tensor.elementCount, tensor.storageEnd) == (1, [2, 2], [3, 1], 4, 6))
}

@Test func long1IntegersAreSignExtended() throws {
  // LONG1 carries ints beyond 32 bits, such as element counts of storages over 2^31 elements.
  let count: [UInt8] = [0x8A, 0x05, 0x05, 0x00, 0x00, 0x00, 0x01]  // 2^32 + 5
  let big = try StateDictPickle.parse(Op.stateDict("w", Op.tensor(count: 0, shape: [2], stride: [1]).replacing(Op.int(0), with: count, maxReplacements: 1)))
  #expect(big.first?.tensor.storage.elementCount == (1 << 32) + 5)
  let minusOne: [UInt8] = [0x8A, 0x02, 0xFF, 0xFF]
  let negative = Op.stateDict("w", Op.tensor(count: 4, offset: 0, shape: [2], stride: [1]).replacing(Op.int(0), with: minusOne, maxReplacements: 1))
  #expect(refusal(negative)?.reason == "tensor offset -1, size [2] or stride [1] is negative")
}

@Test(arguments: [
  ("os", "system"), ("posix", "system"), ("builtins", "eval"), ("builtins", "exec"), ("builtins", "getattr"),
  ("subprocess", "Popen"), ("torch", "load"), ("torch._utils", "_rebuild_device_tensor_from_numpy"),
  ("torch", "UntypedStorage"), ("torch", "ComplexFloatStorage"), ("collections", "OrderedDictX"), ("torch.nn.parameter", "Parameter"),
])
func globalsOutsideTheAllowListAreRefusedAtTheGlobalOpcode(_ module: String, _ name: String) {
  // The refused global is never even reduced: the error points at the GLOBAL opcode itself.
  let call = Op.global(module, name) + [Op.mark] + Op.string("x") + [Op.tuple, Op.reduce]
  let error = refusal(Op.stateDict("w", call))
  let globalOffset = Op.proto2.count + Op.orderedDict.count + 1 + Op.string("w").count
  #expect(error?.offset == globalOffset)
  #expect(error?.reason.hasPrefix("global '\(module).\(name)' is not allowed in a state dict") == true, "\(String(describing: error))")
}

/// Allowed globals used in ways a state dict never does, and the refusal each gets.
private let roleMisuses: [(bytes: [UInt8], expected: String)] = {
  var cases: [(bytes: [UInt8], expected: String)] = []
  func add(_ value: [UInt8], _ expected: String) { cases.append((Op.stateDict("w", value), expected)) }
  add(Op.global("torch", "FloatStorage") + [Op.emptyTuple, Op.reduce], "torch.FloatStorage may only name a storage's type, not be called")
  add(
    Op.global("collections", "OrderedDict") + [Op.mark] + Op.string("x") + [Op.tuple, Op.reduce],
    "collections.OrderedDict is called with 1 arguments; torch.save passes none")
  add(Op.string("os.system") + [Op.emptyTuple, Op.reduce], "REDUCE calls an object of type str, not an allowed global")
  add(Op.tensor(count: 4, shape: [2], stride: [1]) + [Op.emptyDict, Op.build], "BUILD on an object of type tensor is not supported")
  add(
    Op.global("torch._utils", "_rebuild_tensor_v2") + [Op.emptyTuple, Op.reduce],
    "torch._utils._rebuild_tensor_v2 takes (storage, offset, size, stride")
  add(
    [Op.mark] + Op.string("storage") + [Op.tuple, Op.binPersId],
    "persistent id is not ('storage', torch.<Type>Storage, key, location, element count)")
  add(Op.tensor(key: "../../etc", count: 4, shape: [2], stride: [1]), "storage key '../../etc' is not a plain record name")
  add(Op.tensor(count: 4, shape: [2, 2], stride: [1]), "tensor size [2, 2] and stride [1] differ in rank")
  let intKey: [UInt8] = Op.proto2 + Op.orderedDict + [Op.mark, 0x4B, 1] + Op.string("v") + [Op.setItems, Op.stop]
  cases.append((intKey, "dict key has type int, not str"))
  let listTarget: [UInt8] = Op.proto2 + [Op.emptyList, Op.mark] + Op.string("k") + Op.string("v") + [Op.setItems, Op.stop]
  cases.append((listTarget, "SETITEM(S) on an object of type list, not a dict"))
  return cases
}()

@Test(arguments: roleMisuses.indices)
func allowedGlobalsAreOnlyInterpretedInTheirStateDictRoles(_ index: Int) {
  let (bytes, expected) = roleMisuses[index]
  let error = refusal(bytes)
  #expect(error?.reason.hasPrefix(expected) == true, "\(String(describing: error))")
}

@Test func viewsMustFitTheirStorage() {
  #expect(refusal(Op.stateDict("w", Op.tensor(count: 4, offset: 1, shape: [2, 2], stride: [2, 1])))?.reason
    == "entry 'w': a view of shape [2, 2], stride [2, 1] at offset 1 reaches storage element 4, but storage '0' holds 4 elements")
  // Empty views need no storage, wherever they start (as in torch).
  #expect(refusal(Op.stateDict("w", Op.tensor(count: 0, offset: 9, shape: [0, 3], stride: [3, 1]))) == nil)
  // A broadcast axis (stride 0) reads one element many times.
  #expect(refusal(Op.stateDict("w", Op.tensor(count: 1, shape: [200], stride: [0]))) == nil)
}

@Test(arguments: [
  ([0x80, 0x02, 0x58, 0xFF, 0xFF, 0xFF, 0x7F, 0x61], "byte 2: string of 2147483647 bytes runs past the end of the pickle (1 bytes left)"),
  ([0x80, 0x02, 0x68, 0x07, 0x2E], "byte 2: memo entry 7 was never stored"),
  ([0x80, 0x02, 0x6A, 0xFF, 0xFF, 0xFF, 0xFF, 0x2E], "byte 2: memo entry 4294967295 was never stored"),
  ([0x80, 0x02, 0x52, 0x2E], "byte 2: REDUCE needs a value, but the stack is empty above the last mark"),
  ([0x80, 0x02, 0x74, 0x2E], "byte 2: TUPLE without a MARK"),
  ([0x80, 0x02, 0x8A, 0x09] + [UInt8](repeating: 1, count: 9) + [0x2E], "byte 2: LONG1 integer of 9 bytes does not fit 64 bits"),
  ([0x80, 0x02, 0x4B], "byte 2: BININT1 needs 1 bytes, but only 0 remain"),
  ([0x80, 0x02, 0x7D], "byte 3: pickle ends without STOP"),
  ([0x80, 0x09], "byte 0: pickle protocol 9 is not supported (torch.save writes 2)"),
  ([0x80, 0x02, 0x63] + Array("os\n".utf8) + [UInt8](repeating: 0x61, count: 2000), "byte 2: GLOBAL operand has no newline within 1024 bytes"),
  ([0x80, 0x02, 0x58, 0x02, 0, 0, 0, 0xC3, 0x28, 0x2E], "byte 2: string is not valid UTF-8"),
  ([0x80, 0x02, 0x95, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x2E], "byte 2: FRAME of 18446744073709551615 bytes runs past the end of the pickle"),
  ([0x80, 0x02, 0x81], "byte 2: opcode NEWOBJ (0x81) is not part of the state dict subset"),
  ([0x80, 0x02, 0x92], "byte 2: opcode NEWOBJ_EX (0x92) is not part of the state dict subset"),
  ([0x80, 0x02, 0x4E, 0x2E], "the pickle holds an object of type None, not a state dict (a dict of tensors)"),
] as [([UInt8], String)])
func malformedPicklesAreRefusedWithTheirOffset(_ bytes: [UInt8], _ expected: String) {
  #expect(refusal(bytes)?.description == expected)
}

@Test func nestingAndStackAreBounded() {
  let deepMarks = Op.proto2 + [UInt8](repeating: Op.mark, count: StateDictPickle.maxMarkDepth + 1)
  #expect(refusal(deepMarks)?.reason == "MARKs nest deeper than \(StateDictPickle.maxMarkDepth)")
  // One opcode per pushed value: NONE repeated past the stack limit.
  let tallStack = Op.proto2 + [UInt8](repeating: 0x4E, count: StateDictPickle.maxStackDepth + 1)
  #expect(refusal(tallStack)?.reason == "stack holds more than \(StateDictPickle.maxStackDepth) values")
  // Deeply nested tuples (each TUPLE1 wraps the last) neither recurse nor crash.
  let nested = Op.proto2 + [Op.emptyTuple] + [UInt8](repeating: 0x85, count: 200_000) + [Op.stop]
  #expect(refusal(nested)?.reason == "the pickle holds an object of type tuple, not a state dict (a dict of tensors)")
}

/// The real data.pkl of fixtures/torch/state_dict.pt, cut short or with one byte changed, must
/// always end in a parse or a PickleError: never a crash, a hang or an unbounded allocation.
@Test func damagedRealPicklesNeverCrash() throws {
  let original = [UInt8](try Data(contentsOf: TorchFixtures.directory.appendingPathComponent("state_dict.data.pkl")))
  let entryCount = try TorchFixtures.reference().names.count
  #expect(try StateDictPickle.parse(original).count == entryCount)
  for length in 0..<original.count {
    #expect(refusal(Array(original[..<length])) != nil, "prefix of \(length) bytes parsed")
  }
  var generator = SeededGenerator(seed: 7)
  for offset in original.indices {
    var damaged = original
    damaged[offset] = UInt8(truncatingIfNeeded: generator.next())
    _ = refusal(damaged)
  }
}
