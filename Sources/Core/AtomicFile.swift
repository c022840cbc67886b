import Foundation

/// Writes `data` to `path` so that readers see either the old file or the whole new one: write a
/// temporary file beside it, fsync it, rename it over `path`, then fsync the directory.
///
/// On any failure the temporary file is removed and `path` is left as it was.
public func writeAtomically(_ data: Data, to path: String) throws {
  let url = URL(fileURLWithPath: path)
  let directory = url.deletingLastPathComponent().path
  let temporary = directory + "/.\(url.lastPathComponent).\(getpid()).\(UInt32.random(in: 0...UInt32.max)).tmp"
  let fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
  guard fd >= 0 else {
    throw WeightError.unwritable(path: path, reason: "cannot create \(temporary): \(errnoText())")
  }
  var ok = false
  defer {
    if !ok { unlink(temporary) }
  }
  let written = data.withUnsafeBytes { raw -> Bool in
    var offset = 0
    while offset < raw.count {
      let n = write(fd, raw.baseAddress! + offset, raw.count - offset)
      if n < 0 {
        if errno == EINTR { continue }
        return false
      }
      offset += n
    }
    return true
  }
  let reason = errnoText()
  guard written, fsync(fd) == 0 else {
    close(fd)
    throw WeightError.unwritable(path: path, reason: reason)
  }
  close(fd)
  guard rename(temporary, path) == 0 else {
    throw WeightError.unwritable(path: path, reason: "cannot rename into place: \(errnoText())")
  }
  ok = true
  let dirfd = open(directory.isEmpty ? "." : directory, O_RDONLY | O_DIRECTORY)
  if dirfd >= 0 {
    fsync(dirfd)
    close(dirfd)
  }
}

/// The current `errno` as text.
package func errnoText() -> String { String(cString: strerror(errno)) }

/// A short description of a Foundation error, without its domain and code boilerplate.
package func describe(_ error: Error) -> String {
  let ns = error as NSError
  if let underlying = ns.userInfo[NSUnderlyingErrorKey] as? NSError,
    let posix = POSIXErrorCode(rawValue: Int32(underlying.code)), underlying.domain == NSPOSIXErrorDomain
  {
    return String(cString: strerror(posix.rawValue))
  }
  return ns.localizedDescription
}
