import Core
import Foundation
import Testing

@Test(arguments: [(0, 1), (1, 1), (2, 1), (7, 3), (1000, 1), (1001, 64), (5, 100), (150, 100)])
func parallelForVisitsEveryItemOnceInChunksOfAtLeastTheGrain(items: Int, grain: Int) {
  let counts = UnsafeMutableBufferPointer<Int>.allocate(capacity: max(items, 1))
  defer { counts.deallocate() }
  counts.initialize(repeating: 0)
  let ranges = RangeLog()
  Threads.parallelFor(items, grain: grain) { range in
    ranges.append(range)
    for i in range { counts[i] += 1 }
  }
  #expect(counts.prefix(items).allSatisfy { $0 == 1 })
  let sizes = ranges.all.map(\.count)
  #expect(sizes.count <= 1 || sizes.allSatisfy { $0 >= grain }, "chunk sizes \(sizes)")
}

private final class RangeLog: @unchecked Sendable {
  private let lock = NSLock()
  private var ranges: [Range<Int>] = []
  func append(_ range: Range<Int>) { lock.withLock { ranges.append(range) } }
  var all: [Range<Int>] { lock.withLock { ranges } }
}

@Test func parallelForRunsNestedLoopsOnTheCallingWorker() {
  let visits = UnsafeMutableBufferPointer<Int>.allocate(capacity: 64)
  let sameThread = UnsafeMutableBufferPointer<Bool>.allocate(capacity: 64)
  defer {
    visits.deallocate()
    sameThread.deallocate()
  }
  visits.initialize(repeating: 0)
  sameThread.initialize(repeating: false)
  Threads.parallelFor(8) { outer in
    for o in outer {
      let worker = pthread_self()
      Threads.parallelFor(8) { range in
        for i in range {
          visits[o * 8 + i] += 1
          sameThread[o * 8 + i] = pthread_equal(pthread_self(), worker) != 0
        }
      }
    }
  }
  #expect(visits.allSatisfy { $0 == 1 })
  #expect(sameThread.allSatisfy { $0 })
}

@Test func openBLASRunsOneThreadPerCall() {
  // Core splits GEMMs itself; see `Threads` for why OpenBLAS's threading stays off.
  _ = Threads.count
  #expect(Threads.blasThreads == 1)
}
