import Core
import Foundation

/// Splits `0..<count` into contiguous ranges, one per worker thread (at most `Threads.count`,
/// and no range shorter than `minimumPerWorker` unless there is only one).
func parallelRanges(count: Int, minimumPerWorker: Int, _ body: @Sendable (Range<Int>) -> Void) {
  let workers = max(1, min(Threads.count, count / max(minimumPerWorker, 1)))
  if workers == 1 {
    body(0..<count)
    return
  }
  DispatchQueue.concurrentPerform(iterations: workers) { w in
    body((w * count / workers)..<((w + 1) * count / workers))
  }
}

/// A buffer shared read-only, or written at disjoint indices, by parallel workers.
struct UnsafeSendable<Buffer>: @unchecked Sendable {
  let value: Buffer
  init(_ value: Buffer) { self.value = value }
}

/// Raw pointers handed to `concurrentPerform` workers that write disjoint rows.
struct SendablePointer: @unchecked Sendable {
  let pointer: UnsafeMutablePointer<Float>
  init(_ pointer: UnsafeMutablePointer<Float>) { self.pointer = pointer }
}

struct SendableConstPointer: @unchecked Sendable {
  let pointer: UnsafePointer<Float>
  init(_ pointer: UnsafePointer<Float>) { self.pointer = pointer }
}
