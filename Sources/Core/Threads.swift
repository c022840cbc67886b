import COpenBLAS
import Dispatch
import Foundation

/// The process-wide thread setting, shared by OpenBLAS and Core's parallel loops.
///
/// Executables call ``configure(_:)`` once at start-up, before any math runs. Without that call
/// the library default is one thread per active core, applied to OpenBLAS the first time
/// ``count`` is read (every parallel op reads it), so BLAS and the loops always agree.
///
/// Nothing has to happen before the first BLAS call: Debian's OpenBLAS 0.3.21 (pthreads build)
/// starts with one thread per core by itself (it reads `OPENBLAS_NUM_THREADS`, then
/// `OMP_NUM_THREADS`, when set). ``configure(_:)`` overrides those variables so that one setting
/// governs the process. Swift concurrency's cooperative pool is sized by the runtime (one thread
/// per core) and is not changed here; Core's ops do their parallel work on their own workers.
public enum Threads {
  private static let state = State()

  /// Number of threads that BLAS and parallel loops use.
  public static var count: Int { state.count }

  /// Sets the thread count for BLAS and parallel loops; nil means one per active core.
  public static func configure(_ count: Int? = nil) {
    state.configure(max(1, count ?? ProcessInfo.processInfo.activeProcessorCount))
  }

  /// Runs `body` over `0..<items` on up to ``count`` threads, in contiguous chunks of at least
  /// `grain` items, and returns when all are done. Nested calls run serially on their worker.
  ///
  /// OpenBLAS runs one thread per call while any such loop is running: each worker already has a
  /// core, and threaded OpenBLAS calls made from several threads at once contend for its single
  /// thread pool (Whisper-base attention took 20 times longer that way than with one BLAS thread
  /// per worker, on 2 cores). BLAS calls on other threads during the loop are single-threaded too.
  package static func parallelFor(
    _ items: Int, grain: Int = 1, _ body: (Range<Int>) -> Void
  ) {
    let grain = max(grain, 1)
    let workers = min(count, max(1, items / grain))
    guard workers > 1, !state.isInsideParallelRegion else {
      if items > 0 { body(0..<items) }
      return
    }
    state.enterParallelRegion()
    defer { state.leaveParallelRegion() }
    // Up to four chunks per worker, so a core slowed by another process does not hold everyone up.
    let chunks = max(workers, min(items / grain, workers * 4))
    let next = ChunkCounter()
    // The body only runs before this call returns, and callers give each range its own slice of
    // memory, so handing it to the workers without a Sendable check is sound.
    withoutActuallyEscaping(body) { body in
      let shared = UncheckedSendable(body)
      DispatchQueue.concurrentPerform(iterations: workers) { _ in
        state.markWorkerThread()
        defer { state.unmarkWorkerThread() }
        while let chunk = next.take(below: chunks) {
          shared.value((chunk * items / chunks)..<((chunk + 1) * items / chunks))
        }
      }
    }
  }

  /// Number of threads OpenBLAS currently uses for one call (1 inside ``parallelFor(_:grain:_:)``).
  package static var blasThreads: Int { Int(openblas_get_num_threads()) }
}

/// The thread count and the bookkeeping that keeps BLAS single-threaded while parallel loops run.
private final class State: @unchecked Sendable {
  private let lock = NSLock()
  private var configured: Int?
  private var activeRegions = 0
  private let workerKey = "mmencode.Threads.worker"

  var count: Int {
    lock.withLock {
      if let configured { return configured }
      let n = max(1, ProcessInfo.processInfo.activeProcessorCount)
      apply(n)
      return n
    }
  }

  func configure(_ n: Int) { lock.withLock { apply(n) } }

  /// Called with the lock held.
  private func apply(_ n: Int) {
    configured = n
    openblas_set_num_threads(Int32(activeRegions > 0 ? 1 : n))
  }

  func enterParallelRegion() {
    lock.withLock {
      if activeRegions == 0 { openblas_set_num_threads(1) }
      activeRegions += 1
    }
  }

  func leaveParallelRegion() {
    lock.withLock {
      activeRegions -= 1
      if activeRegions == 0, let configured { openblas_set_num_threads(Int32(configured)) }
    }
  }

  var isInsideParallelRegion: Bool { Thread.current.threadDictionary[workerKey] != nil }
  func markWorkerThread() { Thread.current.threadDictionary[workerKey] = true }
  func unmarkWorkerThread() { Thread.current.threadDictionary.removeObject(forKey: workerKey) }
}

/// Hands out chunk indices to workers, each exactly once.
private final class ChunkCounter: @unchecked Sendable {
  private let lock = NSLock()
  private var next = 0

  func take(below limit: Int) -> Int? {
    lock.withLock {
      guard next < limit else { return nil }
      defer { next += 1 }
      return next
    }
  }
}

private struct UncheckedSendable<Value>: @unchecked Sendable {
  let value: Value
  init(_ value: Value) { self.value = value }
}
