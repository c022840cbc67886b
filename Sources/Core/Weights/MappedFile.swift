import Foundation

#if _endian(big)
  #error(
    "safetensors and .npy data are little-endian; mmencode reads them in place on little-endian hosts only"
  )
#endif

/// The bytes of a regular file, memory-mapped read-only.
///
/// `Data(contentsOf:options: .alwaysMapped)` does map on Linux (swift-foundation 6.x), but it
/// reports every failure through `CocoaError`, whose text on Linux loses the `errno` reason and
/// calls a character device "permission denied". Mapping here keeps the reason exact
/// (`No such file or directory`, `Is a directory`, `Permission denied`, `not a regular file`).
///
/// The mapping is private and read-only; pages are read on first touch, so opening a multi-GB
/// checkpoint costs no memory until tensors are read. Like every reader that maps (the reference
/// `safetensors` included), a file truncated by another process while it is mapped makes later
/// reads fault; mmencode's own writers replace files by rename, never in place.
package enum MappedFile {
  /// The contents of `path` as `Data` backed by the mapping (unmapped when the last copy goes).
  package static func map(_ path: String) throws -> Data {
    let fd = open(path, O_RDONLY | O_CLOEXEC)
    guard fd >= 0 else { throw WeightError.unreadable(path: path, reason: errnoText()) }
    defer { close(fd) }
    var info = stat()
    guard fstat(fd, &info) == 0 else {
      throw WeightError.unreadable(path: path, reason: errnoText())
    }
    switch info.st_mode & S_IFMT {
    case S_IFREG: break
    case S_IFDIR:
      throw WeightError.unreadable(path: path, reason: String(cString: strerror(EISDIR)))
    default: throw WeightError.unreadable(path: path, reason: "not a regular file")
    }
    let size = Int(info.st_size)
    // mmap rejects a zero length; an empty file is simply no bytes.
    if size == 0 { return Data() }
    guard let base = mmap(nil, size, PROT_READ, MAP_PRIVATE, fd, 0), base != MAP_FAILED else {
      throw WeightError.unreadable(path: path, reason: "cannot map: \(errnoText())")
    }
    return Data(bytesNoCopy: base, count: size, deallocator: .unmap)
  }
}
