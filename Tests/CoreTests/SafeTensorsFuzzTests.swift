import Core
import Foundation
import TestSupport
import Testing

/// Mutates the bytes of a valid file with a fixed seed; opening and reading every tensor must
/// either succeed or throw a ``WeightError`` (a crash fails the whole test run).
@Suite struct SafeTensorsFuzzTests {
  static let iterations = 4000

  /// A valid file with several dtypes, metadata and a zero-sized tensor.
  static func validFile() throws -> Data {
    let directory = try TemporaryDirectory()
    let path = directory.file("seed.safetensors")
    try writeSafeTensors(
      [
        NamedArray("w", Tensor(shape: [2, 3], scalars: [1, 2, 3, 4, 5, 6])),
        NamedArray("ids", shape: [3], values: .int64([1, -2, 3])),
        NamedArray("d", shape: [1, 1], values: .float64([0.5])),
        NamedArray("empty", Tensor(shape: [0, 2], scalars: [])),
      ],
      metadata: ["k": "v"], to: path)
    return try Data(contentsOf: URL(fileURLWithPath: path))
  }

  /// Characters that change JSON structure when they land in the header.
  static let structural = Array(#"{}[]",:-0123456789eE. "#.utf8)

  static func mutate(_ seed: Data, _ rng: inout SeededGenerator) -> Data {
    var bytes = [UInt8](seed)
    let headerEnd = min(
      bytes.count, 8 + Int(bytes.prefix(8).withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) }))
    for _ in 0..<Int.random(in: 1...3, using: &rng) {
      guard !bytes.isEmpty else { break }
      // Mostly the header, where the structure lives; sometimes anywhere.
      let end = min(headerEnd, bytes.count)
      let range = Bool.random(using: &rng) || end <= 8 ? 0..<bytes.count : 8..<end
      let at = Int.random(in: range, using: &rng)
      switch Int.random(in: 0..<6, using: &rng) {
      case 0: bytes[at] = UInt8.random(in: 0...255, using: &rng)
      case 1: bytes[at] = structural.randomElement(using: &rng)!
      case 2: bytes.remove(at: at)
      case 3: bytes.insert(structural.randomElement(using: &rng)!, at: at)
      case 4: bytes.removeLast(Int.random(in: 0...bytes.count, using: &rng))
      default:
        // A random header length, small or huge.
        let length =
          Bool.random(using: &rng)
          ? UInt64.random(in: 0...UInt64(bytes.count), using: &rng) : rng.next()
        let patched = withUnsafeBytes(of: length.littleEndian) { Array($0) }
        for i in 0..<min(8, bytes.count) { bytes[i] = patched[i] }
      }
    }
    return Data(bytes)
  }

  @Test func mutatedFilesOpenOrThrowWeightError() throws {
    let seed = try Self.validFile()
    var rng = SeededGenerator(seed: 0x5AFE_7E45)
    var opened = 0
    var rejected = 0
    for _ in 0..<Self.iterations {
      let bytes = Self.mutate(seed, &rng)
      do {
        let file = try SafeTensorsFile(bytes: bytes, path: "fuzz.safetensors")
        opened += 1
        for name in file.names {
          do { _ = try file.array(name) } catch WeightError.unsupportedDType {}
        }
      } catch is WeightError {
        rejected += 1
      } catch {
        Issue.record("non-WeightError for mutated bytes \([UInt8](bytes)): \(error)")
      }
    }
    // Both outcomes must occur, or the mutations are not exercising the validation.
    #expect(opened > Self.iterations / 100, "opened \(opened), rejected \(rejected)")
    #expect(rejected > Self.iterations / 2, "opened \(opened), rejected \(rejected)")
  }

  @Test func mutatedNPYFilesDecodeOrThrowWeightError() throws {
    let directory = try TemporaryDirectory()
    let path = directory.file("seed.npy")
    try NPY.write(
      NamedArray("seed", Tensor(shape: [2, 3], scalars: [1, 2, 3, 4, 5, 6])), to: path)
    let seed = try Data(contentsOf: URL(fileURLWithPath: path))
    var rng = SeededGenerator(seed: 0x0000_0A9F)
    var decoded = 0
    for _ in 0..<Self.iterations {
      var bytes = [UInt8](seed)
      for _ in 0..<Int.random(in: 1...3, using: &rng) where !bytes.isEmpty {
        let at = Int.random(in: 0..<min(bytes.count, 128), using: &rng)
        switch Int.random(in: 0..<4, using: &rng) {
        case 0: bytes[at] = UInt8.random(in: 0...255, using: &rng)
        case 1: bytes[at] = Array("{}()[]',:TF0123456789 ".utf8).randomElement(using: &rng)!
        case 2: bytes.remove(at: at)
        default: bytes.removeLast(Int.random(in: 0...bytes.count, using: &rng))
        }
      }
      do {
        _ = try NPY.decode(Data(bytes), path: "fuzz.npy")
        decoded += 1
      } catch is WeightError {
      } catch {
        Issue.record("non-WeightError for mutated bytes \(bytes): \(error)")
      }
    }
    #expect(decoded > 0 && decoded < Self.iterations, "decoded \(decoded)")
  }
}
