import Foundation
import Synchronization
import TestSupport
import Testing
import Video

/// Runs `body(i)` for `i` in `0..<count` on that many threads at once and waits for all.
private func onThreads(_ count: Int, _ body: @escaping @Sendable (Int) -> Void) {
  let group = DispatchGroup()
  let start = DispatchSemaphore(value: 0)
  for i in 0..<count {
    group.enter()
    Thread {
      start.wait()
      body(i)
      group.leave()
    }.start()
  }
  for _ in 0..<count { start.signal() }
  group.wait()
}

@Test func concurrentWritersComputeEveryFrameOnceAndLeaveASoundEntry() throws {
  let directory = try TemporaryDirectory()
  let root = directory.path
  let recipe = makeRecipe(output: .embeddingsAndTokens)
  let source = makeSource(1)
  let writers = 4
  // Every writer wants the shared frames 0..<10 (x 40) plus ten frames of its own.
  let shared = (0..<10).map { Int64($0 * 40) }
  let wanted: [Set<Int64>] = (0..<writers).map { w in
    let own: [Int64] = (0..<10).map { Int64(1000 * (w + 1) + $0 * 40) }
    return Set(shared + own)
  }
  let computed = Tally<Int64>()
  let failures = Mutex<[String]>([])
  let insideCompute = Mutex(0)
  let mostInsideCompute = Mutex(0)

  onThreads(writers) { w in
    // Each thread has its own cache instance, as separate processes would.
    let cache = EmbeddingCache(root: root)
    do {
      let (hits, _) = cache.frames(source: source, recipe: recipe, pts: wanted[w])
      if hits?.count == wanted[w].count { return }
      let (merged, warnings) = try cache.update(source: source, recipe: recipe) { stored in
        let now = insideCompute.withLock {
          $0 += 1
          return $0
        }
        mostInsideCompute.withLock { $0 = max($0, now) }
        defer { insideCompute.withLock { $0 -= 1 } }
        let missing = wanted[w].subtracting(stored?.pts ?? []).sorted()
        missing.forEach(computed.add)
        // Long enough that the other writers queue behind the lock.
        usleep(50_000)
        return makeFrames(missing, tokens: true)
      }
      if !warnings.isEmpty { failures.withLock { $0.append("warnings: \(warnings)") } }
      if !wanted[w].isSubset(of: merged.pts) {
        failures.withLock { $0.append("writer \(w) lacks frames after its update") }
      }
    } catch {
      failures.withLock { $0.append("writer \(w): \(error)") }
    }
  }

  #expect(failures.withLock { $0 }.isEmpty, "\(failures.withLock { $0 })")
  let union = wanted.reduce(Set<Int64>()) { $0.union($1) }
  #expect(computed.snapshot == Dictionary(uniqueKeysWithValues: union.map { ($0, 1) }))
  #expect(mostInsideCompute.withLock { $0 } == 1)
  let cache = EmbeddingCache(root: root)
  #expect(
    cache.frames(source: source, recipe: recipe, pts: union) == (
      makeFrames(union.sorted(), tokens: true), []
    ))
  let verification = try cache.verify(deleteDamaged: false)
  #expect(verification.verified == 1 && verification.frames == union.count)
  #expect(verification.damaged.isEmpty)
}

@Test func readersNeverSeeAPartialEntryWhileWritersReplaceIt() throws {
  let directory = try TemporaryDirectory()
  let root = directory.path
  let recipe = makeRecipe()
  let source = makeSource(2)
  try store([0], in: EmbeddingCache(root: root), source: source, recipe: recipe)
  let problems = Mutex<[String]>([])
  let rounds = 40

  onThreads(3) { thread in
    let cache = EmbeddingCache(root: root)
    for round in 1...rounds {
      if thread == 0 {
        // The writer grows the entry one frame at a time.
        do {
          try store([Int64(round * 40)], in: cache, source: source, recipe: recipe)
        } catch {
          problems.withLock { $0.append("\(error)") }
        }
      } else {
        let (frames, warnings) = cache.frames(
          source: source, recipe: recipe, pts: Set((0...rounds).map { Int64($0 * 40) }))
        if !warnings.isEmpty { problems.withLock { $0.append("\(warnings)") } }
        // Whatever version a reader sees is complete: frames 0, 40, ... up to some round.
        if let frames, frames != makeFrames((0..<frames.count).map { Int64($0 * 40) }) {
          problems.withLock { $0.append("inconsistent frames \(frames.pts)") }
        }
      }
    }
  }
  #expect(problems.withLock { $0 }.isEmpty, "\(problems.withLock { $0 })")
}
