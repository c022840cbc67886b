import Crypto
import Foundation

/// Bytes read per step when hashing, so an hour of video or a multi-GB checkpoint never sits in
/// memory at once.
package let hashChunkSize = 1 << 20

/// The model configuration every Hugging Face model directory holds.
private let modelConfigFileName = "config.json"

/// The SHA-256 of the file at `path` as 64 lowercase hex digits (what `sha256sum` prints),
/// read in chunks of `chunkSize` bytes.
public func sha256(file path: String) throws -> String {
  try sha256(file: path, chunkSize: hashChunkSize)
}

package func sha256(file path: String, chunkSize: Int) throws -> String {
  let fd = open(path, O_RDONLY | O_CLOEXEC)
  guard fd >= 0 else { throw WeightError.unreadable(path: path, reason: errnoText()) }
  defer { close(fd) }
  var hasher = SHA256()
  let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: chunkSize, alignment: 1)
  defer { buffer.deallocate() }
  while true {
    let n = read(fd, buffer.baseAddress, chunkSize)
    if n < 0 {
      if errno == EINTR { continue }
      throw WeightError.unreadable(path: path, reason: errnoText())
    }
    if n == 0 { break }
    hasher.update(bufferPointer: UnsafeRawBufferPointer(rebasing: buffer[0..<n]))
  }
  return hex(hasher.finalize())
}

/// The SHA-256 of a list of files: the hash of the text `sha256sum` prints for them, one line
/// `<64 hex digits><two spaces><file name>\n` per file in the given order, with file names
/// without their directory. So `cd DIR && sha256sum a b | sha256sum` gives the same digest, and
/// the result does not depend on where the files live (a Hugging Face snapshot or a copy).
public func sha256Manifest(_ files: [String]) throws -> String {
  var manifest = ""
  for file in files {
    manifest += try sha256(file: file) + "  " + (file as NSString).lastPathComponent + "\n"
  }
  return hex(SHA256.hash(data: Data(manifest.utf8)))
}

/// The hash that identifies a model in output metadata: ``sha256Manifest(_:)`` over
/// `config.json` followed by the checkpoint's weight files (`model.safetensors`, or
/// `model.safetensors.index.json` and every shard it names) sorted by the bytes of their names.
///
/// For a single-file model it equals
/// `cd MODEL && sha256sum config.json model.safetensors | sha256sum`.
public func modelHash(directory: String) throws -> String {
  let weights = try Checkpoint(path: directory).files.sorted {
    ($0 as NSString).lastPathComponent.utf8.lexicographicallyPrecedes(
      ($1 as NSString).lastPathComponent.utf8)
  }
  return try sha256Manifest(
    [(directory as NSString).appendingPathComponent(modelConfigFileName)] + weights)
}

private func hex<Digest: Sequence<UInt8>>(_ digest: Digest) -> String {
  let digits = Array("0123456789abcdef".utf8)
  var out: [UInt8] = []
  for byte in digest {
    out.append(digits[Int(byte >> 4)])
    out.append(digits[Int(byte & 0x0f)])
  }
  return String(decoding: out, as: UTF8.self)
}
