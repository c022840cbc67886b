import COpenBLAS
import Foundation

/// The process-wide thread setting, shared by OpenBLAS and mmencode's own parallel loops.
///
/// Debian's OpenBLAS starts with one thread unless told otherwise, so the setting is applied
/// explicitly. The default is the number of active cores.
public enum Threads {
  nonisolated(unsafe) private static var current = ProcessInfo.processInfo.activeProcessorCount
  private static let lock = NSLock()

  /// Number of threads that BLAS and parallel loops use.
  public static var count: Int {
    lock.lock()
    defer { lock.unlock() }
    return current
  }

  /// Sets the thread count for BLAS and parallel loops; nil means one per active core.
  public static func configure(_ count: Int? = nil) {
    let n = max(1, count ?? ProcessInfo.processInfo.activeProcessorCount)
    lock.lock()
    current = n
    lock.unlock()
    openblas_set_num_threads(Int32(n))
  }
}
