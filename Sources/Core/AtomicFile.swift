import Foundation

/// A file written so that readers see either the old file or the whole new one.
///
/// Bytes go to a temporary file beside `path` (same directory, so the final rename cannot cross
/// file systems); ``commit()`` flushes it to disk, renames it over `path` and flushes the
/// directory. If the writer is dropped without a commit, or any step fails, the temporary file
/// is removed and `path` is left as it was.
package final class AtomicFile {
  /// The file that ``commit()`` creates or replaces.
  package let path: String
  private let temporary: String
  private var descriptor: Int32
  private var committed = false

  /// Starts writing `path`; fails if its directory is missing or not writable, or if `path` is
  /// a directory.
  package init(path: String) throws {
    if isDirectory(path) {
      throw WeightError.unwritable(path: path, reason: "is a directory")
    }
    self.path = path
    temporary = temporarySibling(of: path, suffix: "tmp")
    descriptor = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
    guard descriptor >= 0 else {
      throw WeightError.unwritable(path: path, reason: "cannot create \(temporary): \(errnoText())")
    }
  }

  deinit {
    if !committed {
      if descriptor >= 0 { close(descriptor) }
      unlink(temporary)
    }
  }

  /// Appends `bytes`.
  package func write(_ bytes: UnsafeRawBufferPointer) throws {
    var offset = 0
    while offset < bytes.count {
      let n = writeToDescriptor(descriptor, bytes.baseAddress! + offset, bytes.count - offset)
      if n < 0 {
        if errno == EINTR { continue }
        throw WeightError.unwritable(path: path, reason: errnoText())
      }
      offset += n
    }
  }

  /// Appends `data`.
  package func write(_ data: Data) throws {
    try data.withUnsafeBytes { try write($0) }
  }

  /// Flushes the bytes to disk and moves them to ``path``.
  package func commit() throws {
    precondition(!committed, "AtomicFile committed twice")
    guard fsync(descriptor) == 0 else {
      throw WeightError.unwritable(path: path, reason: errnoText())
    }
    let closed = close(descriptor)
    descriptor = -1
    guard closed == 0 else { throw WeightError.unwritable(path: path, reason: errnoText()) }
    guard rename(temporary, path) == 0 else {
      throw WeightError.unwritable(path: path, reason: "cannot rename into place: \(errnoText())")
    }
    committed = true
    syncDirectory(containing: path)
  }
}

/// Writes `data` to `path` atomically (see ``AtomicFile``).
public func writeAtomically(_ data: Data, to path: String) throws {
  let file = try AtomicFile(path: path)
  try file.write(data)
  try file.commit()
}

/// `write(2)`; inside ``AtomicFile`` the bare name `write` means its own methods.
private func writeToDescriptor(_ fd: Int32, _ bytes: UnsafeRawPointer, _ count: Int) -> Int {
  write(fd, bytes, count)
}

/// A fresh, unused name in the directory of `path` for a hidden temporary sibling.
package func temporarySibling(of path: String, suffix: String) -> String {
  let url = URL(fileURLWithPath: path)
  let name = ".\(url.lastPathComponent).\(getpid()).\(UInt32.random(in: 0...UInt32.max)).\(suffix)"
  return url.deletingLastPathComponent().appendingPathComponent(name).path
}

/// Flushes the directory entry of `path`, i.e. its parent directory.
package func syncDirectory(containing path: String) {
  syncDirectory(URL(fileURLWithPath: path).deletingLastPathComponent().path)
}

/// Flushes `directory`'s entries (best effort: some file systems refuse directory fsync, and
/// the data itself is already on disk).
package func syncDirectory(_ directory: String) {
  let fd = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
  if fd >= 0 {
    fsync(fd)
    close(fd)
  }
}

/// Whether `path` names a directory (following symbolic links).
package func isDirectory(_ path: String) -> Bool {
  var info = stat()
  return stat(path, &info) == 0 && (info.st_mode & S_IFMT) == S_IFDIR
}

/// The current `errno` as text.
package func errnoText() -> String { String(cString: strerror(errno)) }

/// A short description of a Foundation error: the POSIX reason when there is one, without the
/// domain and code boilerplate.
package func describe(_ error: Error) -> String {
  // On Linux the underlying error is stored as a Swift `POSIXError`, which `as? NSError` does
  // not match; going through `any Error` bridges it either way.
  if let underlying = (error as NSError).userInfo[NSUnderlyingErrorKey] as? any Error {
    let ns = underlying as NSError
    if ns.domain == NSPOSIXErrorDomain { return String(cString: strerror(Int32(ns.code))) }
  }
  return error.localizedDescription
}
