import COpenBLAS
import Dispatch
import Foundation

/// The process-wide thread setting: how many workers Core's ops use.
///
/// Executables call ``configure(_:)`` once at start-up, before any math runs. Without that call
/// the library default is one worker per active core. Swift concurrency's cooperative pool is
/// sized by the runtime (one thread per core) and is not changed here; Core's ops run their
/// parallel work on their own workers.
///
/// OpenBLAS itself always runs one thread per call, and Core splits the work instead: large GEMMs
/// into blocks of rows or columns (see `sgemm`), attention into blocks of queries per head,
/// row-wise ops into groups of rows. Measured with Debian's OpenBLAS 0.3.21 (pthreads) on 2 cores:
/// - after each threaded call its pool thread keeps spinning on `sched_yield` for about 0.1 s,
///   taking a core from whatever runs next: batch-16 ViT-B/32 attention took 3.4 ms right after a
///   threaded `linear` and 1.65 ms otherwise, and a whole ViT-B/32 block 80 ms instead of 70 ms;
/// - threaded calls made from several threads at once contend for that one pool: Whisper-base
///   attention with per-head GEMMs on two workers took 624 ms instead of 80 ms;
/// - split single-threaded GEMMs match OpenBLAS's own threading at the CLIP and Whisper MLP
///   shapes (about 190 GFLOP/s).
///
/// Nothing has to happen before the first BLAS call: OpenBLAS picks its own count when it loads
/// (one thread per core, or `OPENBLAS_NUM_THREADS` / `OMP_NUM_THREADS`), and Core sets it to one
/// before its first call. Its pool thread, started at load, still spins for ~0.1 s after start-up;
/// `OPENBLAS_NUM_THREADS=1` in the environment avoids even that.
public enum Threads {
  private static let state = State()

  /// Number of workers Core's ops use.
  public static var count: Int { state.count }

  /// Sets the number of workers Core's ops use; nil means one per active core.
  public static func configure(_ count: Int? = nil) {
    state.count = max(1, count ?? ProcessInfo.processInfo.activeProcessorCount)
  }

  /// Runs `body` over `0..<items` on up to ``count`` workers, in contiguous chunks of at least
  /// `grain` items, and returns when all are done. Nested calls run serially on their worker.
  package static func parallelFor(
    _ items: Int, grain: Int = 1, _ body: (Range<Int>) -> Void
  ) {
    let grain = max(grain, 1)
    let workers = min(count, max(1, items / grain))
    guard workers > 1, !isInParallelLoop else {
      if items > 0 { body(0..<items) }
      return
    }
    // Up to four chunks per worker, so a core slowed by another process does not hold everyone up.
    let chunks = max(workers, min(items / grain, workers * 4))
    let next = ChunkCounter()
    // The body only runs before this call returns, and callers give each range its own slice of
    // memory, so handing it to the workers without a Sendable check is sound.
    withoutActuallyEscaping(body) { body in
      let shared = UncheckedSendable(body)
      DispatchQueue.concurrentPerform(iterations: workers) { _ in
        let wasWorker = isInParallelLoop
        isInParallelLoop = true
        defer { isInParallelLoop = wasWorker }
        while let chunk = next.take(below: chunks) {
          shared.value((chunk * items / chunks)..<((chunk + 1) * items / chunks))
        }
      }
    }
  }

  /// Threads OpenBLAS uses for one call: 1 once Core has run.
  package static var blasThreads: Int { Int(openblas_get_num_threads()) }

  private static let workerKey = "mmencode.Threads.worker"

  /// Whether this thread is running a ``parallelFor(_:grain:_:)`` chunk.
  package private(set) static var isInParallelLoop: Bool {
    get { Thread.current.threadDictionary[workerKey] != nil }
    set {
      if newValue {
        Thread.current.threadDictionary[workerKey] = true
      } else {
        Thread.current.threadDictionary.removeObject(forKey: workerKey)
      }
    }
  }
}

/// The worker count, and OpenBLAS's thread count pinned to one before Core's first BLAS call
/// (every `sgemm` reads ``Threads/count`` first).
private final class State: @unchecked Sendable {
  private let lock = NSLock()
  private var workers = max(1, ProcessInfo.processInfo.activeProcessorCount)

  init() { openblas_set_num_threads(1) }

  var count: Int {
    get { lock.withLock { workers } }
    set { lock.withLock { workers = newValue } }
  }
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

/// A value handed to other threads without a `Sendable` check.
///
/// Only ``Threads/parallelFor(_:grain:_:)`` uses it, for its body: the body runs only before that
/// call returns (so nothing it captures outlives its owner), and its callers give each range its
/// own part of any memory it writes. Code elsewhere writes parallel loops with `parallelFor`, whose
/// body need not be `Sendable`, so it needs no wrapper of its own.
private struct UncheckedSendable<Value>: @unchecked Sendable {
  let value: Value
  init(_ value: Value) { self.value = value }
}
