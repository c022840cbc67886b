import Core
import Foundation

/// An exclusive `flock` on a cache entry's lock file, held until the object goes away.
///
/// The kernel drops the lock when the descriptor closes, including when the process dies, so a
/// killed writer never leaves an entry locked. Locks taken through separate `open` calls
/// conflict even inside one process, so threads with their own locks exclude each other too.
///
/// Lock files may be removed (by `cache gc`) while someone waits on them, so after the lock is
/// granted the holder checks that the path still names the file it locked, and starts over if
/// not; otherwise two writers could each hold a lock on a different file for the same entry.
package final class EntryLock {
  /// The lock file.
  package let path: String
  private let descriptor: Int32

  private init(path: String, descriptor: Int32) {
    self.path = path
    self.descriptor = descriptor
  }

  deinit { close(descriptor) }

  /// Takes the lock on `path`, creating the file if needed, waiting while another holder has it.
  package static func acquire(_ path: String) throws -> EntryLock {
    // Only a non-blocking attempt gives up.
    try lock(path, wait: true)!
  }

  /// Takes the lock on `path` if it is free, creating the file if needed; nil when busy.
  package static func tryAcquire(_ path: String) throws -> EntryLock? {
    try lock(path, wait: false)
  }

  private static func lock(_ path: String, wait: Bool) throws -> EntryLock? {
    while true {
      let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
      guard fd >= 0 else {
        throw CacheError.unusable(path: path, reason: "cannot open lock file: \(errnoText())")
      }
      var result: Int32
      repeat {
        result = flock(fd, LOCK_EX | (wait ? 0 : LOCK_NB))
      } while result != 0 && errno == EINTR
      if result != 0 {
        let code = errno
        close(fd)
        if code == EWOULDBLOCK { return nil }
        throw CacheError.unusable(
          path: path, reason: "cannot lock: \(String(cString: strerror(code)))")
      }
      var held = stat()
      var named = stat()
      if fstat(fd, &held) == 0, stat(path, &named) == 0, held.st_dev == named.st_dev,
        held.st_ino == named.st_ino
      {
        return EntryLock(path: path, descriptor: fd)
      }
      close(fd)
    }
  }

  /// Removes the lock file while still holding the lock; waiters notice and lock a new file.
  package func removeFile() {
    unlink(path)
  }
}
