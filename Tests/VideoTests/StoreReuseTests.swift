import Core
import Foundation
import Media
import TestSupport
import Testing
import Video

// Frame reuse through an EmbeddingStore (MemoryStore, a real in-memory implementation of the
// protocol, and the on-disk EmbeddingCache): what a run takes from the store is never decoded or
// encoded again, and what it computes is stored. Counts come from the pipeline's own accounting
// (EmbeddingCounts).

private let video = Fixtures.media("h264_bframes.mp4")

/// The stores the reuse tests run against.
enum StoreKind: String, CaseIterable, Sendable {
  case memory, disk

  /// A fresh, empty store; `directory` must outlive it.
  func make(in directory: TemporaryDirectory) -> any EmbeddingStore {
    switch self {
    case .memory: MemoryStore()
    case .disk: EmbeddingCache(root: directory.file("cache"))
    }
  }
}

@Test(arguments: StoreKind.allCases)
func aSecondRunEncodesNothingAndGivesTheSameEmbeddings(kind: StoreKind) throws {
  let directory = try TemporaryDirectory()
  let store = kind.make(in: directory)
  let embedder = try VideoEmbedder(modelDirectory: Fixtures.model)
  let sampling = FrameSampling(formula: .uniform, budget: .fps(5))
  let first = try embedder.embed(path: video, sampling: sampling, store: store)
  #expect(first.counts.encoded == 12)
  #expect(first.counts.fromCache == 0)
  #expect(first.counts.decoded >= 12)
  let (stored, _) = store.frames(source: first.source, recipe: embedder.recipe, pts: Set(first.pts))
  #expect(stored?.count == 12)

  let second = try embedder.embed(path: video, sampling: sampling, store: store)
  #expect(second.counts.encoded == 0)
  #expect(second.counts.decoded == 0)
  #expect(second.counts.fromCache == 12)
  #expect(second.embeddings == first.embeddings)
  #expect(second.pts == first.pts)
}

@Test(arguments: StoreKind.allCases, [
  (FrameSampling(formula: .uniform, budget: .fps(2)), FrameSampling(formula: .uniform, budget: .fps(4))),
  (FrameSampling(formula: .hf, budget: .count(6)), FrameSampling(formula: .hf, budget: .count(12))),
])
func doublingTheBudgetEncodesOnlyTheNewFrames(kind: StoreKind, budgets: (smaller: FrameSampling, larger: FrameSampling)) throws {
  let (smaller, larger) = budgets
  let directory = try TemporaryDirectory()
  let store = kind.make(in: directory)
  let embedder = try VideoEmbedder(modelDirectory: Fixtures.model)
  let first = try embedder.embed(path: video, sampling: smaller, store: store)
  let second = try embedder.embed(path: video, sampling: larger, store: store)
  let old = Set(first.frameIndex)
  let new = Set(second.frameIndex).subtracting(old)
  #expect(!new.isEmpty && old.isSubset(of: Set(second.frameIndex)))
  #expect(second.counts.encoded == new.count)
  #expect(second.counts.fromCache == old.count)

  // Stored rows are the rows a fresh run computes.
  let fresh = try embedder.embed(path: video, sampling: larger)
  #expect(fresh.counts.encoded == Set(fresh.frameIndex).count)
  let difference = maxAbsDifference(fresh.embeddings, second.embeddings)
  #expect(difference == 0, "max |fresh - reused| = \(difference)")
}

@Test func storesAreKeptApartByRecipe() throws {
  let store = MemoryStore()
  let sampling = FrameSampling(formula: .uniform, budget: .count(3))
  _ = try VideoEmbedder(modelDirectory: Fixtures.model).embed(path: video, sampling: sampling, store: store)
  let withTokens = try VideoEmbedder(modelDirectory: Fixtures.model, tokens: true)
    .embed(path: video, sampling: sampling, store: store)
  #expect(withTokens.counts.encoded == 3)
  #expect(withTokens.tokens?.shape == [3, 17, 48])
}

@Test(arguments: StoreKind.allCases)
func threadsSharingAStoreEncodeEachFrameOnce(kind: StoreKind) throws {
  let directory = try TemporaryDirectory()
  let store = kind.make(in: directory)
  let embedder = try VideoEmbedder(modelDirectory: Fixtures.model)
  let sampling = FrameSampling(formula: .uniform, budget: .fps(10))
  let results = Results()
  DispatchQueue.concurrentPerform(iterations: 4) { _ in
    results.append(Result { try embedder.embed(path: video, sampling: sampling, store: store) })
  }
  let runs = try results.all.map { try $0.get() }
  #expect(runs.count == 4)
  #expect(runs.map(\.counts.encoded).reduce(0, +) == 24)
  #expect(runs.allSatisfy { $0.embeddings == runs[0].embeddings })
}

@Test func progressCountsEveryFrameOnce() throws {
  let reports = Reports()
  let store = MemoryStore()
  let embedder = try VideoEmbedder(modelDirectory: Fixtures.model, batchSize: 4)
  _ = try embedder.embed(path: video, sampling: FrameSampling(formula: .uniform, budget: .count(10)), store: store)
  _ = try embedder.embed(
    path: video, sampling: FrameSampling(formula: .uniform, budget: .count(20)), store: store, progress: reports.handler)
  let seen = reports.all
  #expect(seen.allSatisfy { $0.unit == "frames" && $0.total == 20 && $0.item == video })
  #expect(seen.last?.completed == 20)
  #expect(zip(seen, seen.dropFirst()).allSatisfy { $0.completed <= $1.completed })
}

private final class Results: @unchecked Sendable {
  private let lock = NSLock()
  private var values: [Result<VideoEmbedding, any Error>] = []
  func append(_ value: Result<VideoEmbedding, any Error>) { lock.withLock { values.append(value) } }
  var all: [Result<VideoEmbedding, any Error>] { lock.withLock { values } }
}

private final class Reports: @unchecked Sendable {
  private let lock = NSLock()
  private var values: [ProgressReport] = []
  var handler: ProgressHandler { { report in self.lock.withLock { self.values.append(report) } } }
  var all: [ProgressReport] { lock.withLock { values } }
}
