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

@Test func parallelForRunsNestedLoopsSeriallyWithSingleThreadedBLAS() {
  let visits = UnsafeMutableBufferPointer<Int>.allocate(capacity: 64)
  let blasThreadsSeen = UnsafeMutableBufferPointer<Int>.allocate(capacity: 8)
  defer {
    visits.deallocate()
    blasThreadsSeen.deallocate()
  }
  visits.initialize(repeating: 0)
  blasThreadsSeen.initialize(repeating: 0)
  Threads.parallelFor(8) { outer in
    for o in outer {
      blasThreadsSeen[o] = Threads.blasThreads
      Threads.parallelFor(8) { range in
        for i in range { visits[o * 8 + i] += 1 }
      }
    }
  }
  #expect(visits.allSatisfy { $0 == 1 })
  // Each worker already has a core; a BLAS call inside the loop must not start more threads.
  #expect(blasThreadsSeen.allSatisfy { $0 == 1 })
}
