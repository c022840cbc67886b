import Core
import Crypto
import Foundation

/// The file format of one cache entry: the frames of one source under one recipe, as safetensors.
///
/// Tensors (sorted by PTS, PTS unique): `pts` [K] int64, `timestamps` [K] float64 seconds,
/// `frame_index` [K] int64, `embeddings` [K, P] float32, and `tokens` [K, N, W] float32 exactly
/// when the recipe's output asks for tokens. `__metadata__` holds the recipe (JSON), its id, the
/// source id, the counts, the writing mmencode version, and `cache.data_sha256`: the SHA-256 of
/// the tensors' bytes concatenated in sorted name order, i.e. in Python
/// `sha256(b"".join(t[n].tobytes() for n in sorted(t)))`.
package enum CacheEntry {
  package enum TensorName {
    static let pts = "pts"
    static let timestamps = "timestamps"
    static let frameIndex = "frame_index"
    static let embeddings = "embeddings"
    static let tokens = "tokens"
  }

  package enum Metadata {
    static let version = "mmencode.version"
    package static let recipe = "cache.recipe"
    package static let recipeID = "cache.recipe_id"
    static let sourceID = "cache.source_id"
    package static let checksum = "cache.data_sha256"
    package static let frames = "cache.frames"
    static let embeddingWidth = "cache.embedding_width"
    static let tokensPerFrame = "cache.tokens_per_frame"
    static let tokenWidth = "cache.token_width"
  }

  /// Entry files end with this.
  package static let fileExtension = "safetensors"

  /// Writes `frames` (sorted, unique PTS) as the entry at `path`, atomically (temporary file in
  /// the same directory, fsync, rename, directory fsync).
  package static func write(
    _ frames: FrameEmbeddings, recipe: FrameRecipe, recipeID: String, source: SourceID,
    to path: String
  ) throws {
    var arrays = [
      NamedArray(TensorName.pts, shape: [frames.count], values: .int64(frames.pts)),
      NamedArray(TensorName.timestamps, shape: [frames.count], values: .float64(frames.timestamps)),
      NamedArray(TensorName.frameIndex, shape: [frames.count], values: .int64(frames.frameIndex)),
      NamedArray(TensorName.embeddings, frames.embeddings),
    ]
    if let tokens = frames.tokens { arrays.append(NamedArray(TensorName.tokens, tokens)) }
    var hasher = SHA256()
    for array in arrays.sorted(by: { $0.name < $1.name }) {
      array.values.withUnsafeBytes { hasher.update(bufferPointer: $0) }
    }
    var metadata = [
      Metadata.version: mmencodeVersion,
      Metadata.recipe: String(decoding: try recipe.json(), as: UTF8.self),
      Metadata.recipeID: recipeID,
      Metadata.sourceID: source.description,
      Metadata.checksum: hexDigits(hasher.finalize()),
      Metadata.frames: String(frames.count),
      Metadata.embeddingWidth: String(frames.embeddings.shape[1]),
    ]
    if let tokens = frames.tokens {
      metadata[Metadata.tokensPerFrame] = String(tokens.shape[1])
      metadata[Metadata.tokenWidth] = String(tokens.shape[2])
    }
    try writeSafeTensors(arrays, metadata: metadata, to: path)
  }
}

/// Why an entry file cannot be used.
package enum EntryProblem: Error, Equatable {
  /// There is no file (a plain miss, nothing to report).
  case missing
  /// The file exists but is not a sound entry for the expected recipe and source.
  case damaged(String)
}

/// An entry file that passed every check: structure, recipe and source ids, recipe, shapes and
/// dtypes, strictly increasing PTS, and the data checksum. Frames are copied out of its
/// read-only mapping on demand.
package struct VerifiedEntry {
  package let path: String
  package let recipe: FrameRecipe
  package let source: SourceID
  /// `[K]`, strictly increasing.
  package let pts: [Int64]
  package let timestamps: [Double]
  package let frameIndex: [Int64]
  /// P.
  package let embeddingWidth: Int
  /// `[N, W]` per frame, when the entry holds tokens.
  package let tokenShape: [Int]?
  private let bytes: Data
  private let embeddingsStart: Int
  private let tokensStart: Int?

  package var count: Int { pts.count }

  /// Opens and verifies the entry at `path`, which must belong to the recipe with id `recipeID`
  /// (and equal `recipe` when given) and to `source`.
  package static func open(
    _ path: String, recipeID: String, source: SourceID, recipe expected: FrameRecipe? = nil
  ) -> Result<VerifiedEntry, EntryProblem> {
    do {
      return .success(
        try VerifiedEntry(path, recipeID: recipeID, source: source, expected: expected))
    } catch let problem as EntryProblem {
      return .failure(problem)
    } catch {
      return .failure(.damaged(error.localizedDescription))
    }
  }

  private init(_ path: String, recipeID: String, source: SourceID, expected: FrameRecipe?) throws {
    func damaged(_ reason: String) -> EntryProblem { .damaged(reason) }
    let bytes: Data
    do {
      bytes = try MappedFile.map(path)
    } catch {
      // Removed (by gc or a replaced directory) between listing and opening: just absent.
      if !FileManager.default.fileExists(atPath: path) { throw EntryProblem.missing }
      if case WeightError.unreadable(_, let reason) = error {
        throw damaged("cannot read: \(reason)")
      }
      throw damaged("cannot read: \(error)")
    }
    let file: SafeTensorsFile
    do {
      file = try SafeTensorsFile(bytes: bytes, path: path)
    } catch WeightError.invalidSafeTensors(_, let defect) {
      throw damaged("not a valid safetensors file: \(defect)")
    }
    let metadata = file.metadata
    func field(_ key: String) throws -> String {
      guard let value = metadata[key] else { throw damaged("metadata lacks '\(key)'") }
      return value
    }

    let storedID = try field(CacheEntry.Metadata.recipeID)
    guard storedID == recipeID else {
      throw damaged("entry of recipe \(storedID), not \(recipeID)")
    }
    guard
      let recipe = try? JSONDecoder().decode(
        FrameRecipe.self, from: Data(try field(CacheEntry.Metadata.recipe).utf8))
    else { throw damaged("recipe metadata is not a frame recipe") }
    guard recipe.id == storedID else {
      if let version = metadata[CacheEntry.Metadata.version], version != mmencodeVersion {
        throw damaged(
          "recipe id written by mmencode \(version) differs from this version's id of the same recipe"
        )
      }
      throw damaged("recipe metadata does not hash to the entry's recipe id")
    }
    if let expected, recipe != expected {
      throw damaged("recipe metadata differs from the requested recipe")
    }
    let storedSource = try field(CacheEntry.Metadata.sourceID)
    guard storedSource == source.description else {
      throw damaged("entry of source \(storedSource), not \(source)")
    }

    let withTokens = recipe.output == .embeddingsAndTokens
    var names: Set = [
      CacheEntry.TensorName.pts, CacheEntry.TensorName.timestamps, CacheEntry.TensorName.frameIndex,
      CacheEntry.TensorName.embeddings,
    ]
    if withTokens { names.insert(CacheEntry.TensorName.tokens) }
    let present = Set(file.entries.keys)
    if let missing = names.subtracting(present).sorted().first {
      throw damaged("tensor '\(missing)' is missing")
    }
    if let extra = present.subtracting(names).sorted().first {
      throw damaged("unexpected tensor '\(extra)' for output '\(recipe.output.rawValue)'")
    }
    func entry(_ name: String, dtype: String, rank: Int) throws -> SafeTensorsFile.Entry {
      let entry = file.entries[name]!
      guard entry.dtype == dtype, entry.shape.count == rank else {
        throw damaged(
          "tensor '\(name)' is \(entry.dtype) \(entry.shape), expected \(dtype) of rank \(rank)")
      }
      return entry
    }
    let ptsEntry = try entry(CacheEntry.TensorName.pts, dtype: "I64", rank: 1)
    let count = ptsEntry.shape[0]
    let timestampsEntry = try entry(CacheEntry.TensorName.timestamps, dtype: "F64", rank: 1)
    let frameIndexEntry = try entry(CacheEntry.TensorName.frameIndex, dtype: "I64", rank: 1)
    let embeddingsEntry = try entry(CacheEntry.TensorName.embeddings, dtype: "F32", rank: 2)
    let tokensEntry =
      withTokens ? try entry(CacheEntry.TensorName.tokens, dtype: "F32", rank: 3) : nil
    for e in [timestampsEntry, frameIndexEntry, embeddingsEntry] + (tokensEntry.map { [$0] } ?? [])
    where e.shape[0] != count {
      throw damaged("tensor shapes disagree on the frame count (\(count) PTS, \(e.shape))")
    }
    guard try field(CacheEntry.Metadata.frames) == String(count) else {
      throw damaged(
        "metadata frame count \(metadata[CacheEntry.Metadata.frames]!) but \(count) PTS")
    }
    guard try field(CacheEntry.Metadata.embeddingWidth) == String(embeddingsEntry.shape[1]) else {
      throw damaged("metadata embedding width disagrees with embeddings \(embeddingsEntry.shape)")
    }

    // The data section starts after the 8-byte header length and the header itself.
    let headerLength = bytes.withUnsafeBytes { Int($0.loadUnaligned(as: UInt64.self).littleEndian) }
    let dataStart = MemoryLayout<UInt64>.size + headerLength
    var hasher = SHA256()
    bytes.withUnsafeBytes { raw in
      for name in file.entries.keys.sorted() {
        let range = file.entries[name]!.range
        hasher.update(
          bufferPointer: UnsafeRawBufferPointer(
            rebasing: raw[(dataStart + range.lowerBound)..<(dataStart + range.upperBound)]))
      }
    }
    guard hexDigits(hasher.finalize()) == (try field(CacheEntry.Metadata.checksum)) else {
      throw damaged("data checksum mismatch")
    }

    guard case .int64(let pts) = try file.array(CacheEntry.TensorName.pts).values,
      case .float64(let timestamps) = try file.array(CacheEntry.TensorName.timestamps).values,
      case .int64(let frameIndex) = try file.array(CacheEntry.TensorName.frameIndex).values
    else { throw damaged("frame fields have unexpected types") }
    for i in pts.indices.dropFirst() where pts[i - 1] >= pts[i] {
      throw damaged("PTS not strictly increasing at frame \(i) (\(pts[i - 1]), \(pts[i]))")
    }

    self.path = path
    self.recipe = recipe
    self.source = source
    self.pts = pts
    self.timestamps = timestamps
    self.frameIndex = frameIndex
    self.embeddingWidth = embeddingsEntry.shape[1]
    self.tokenShape = tokensEntry.map { Array($0.shape.dropFirst()) }
    self.bytes = bytes
    self.embeddingsStart = dataStart + embeddingsEntry.range.lowerBound
    self.tokensStart = tokensEntry.map { dataStart + $0.range.lowerBound }
  }

  /// The frames at `rows` (ascending positions in ``pts``), copied out of the file.
  package func frames(rows: [Int]) -> FrameEmbeddings {
    let tokensPerRow = tokenShape.map { $0.reduce(1, *) }
    return FrameEmbeddings(
      pts: rows.map { pts[$0] }, timestamps: rows.map { timestamps[$0] },
      frameIndex: rows.map { frameIndex[$0] },
      embeddings: gather(rows, from: embeddingsStart, rowSize: embeddingWidth, shape: []),
      tokens: tokensStart.map { gather(rows, from: $0, rowSize: tokensPerRow!, shape: tokenShape!) }
    )
  }

  /// Every frame of the entry.
  package func allFrames() -> FrameEmbeddings { frames(rows: Array(pts.indices)) }

  /// Rows of a float32 tensor starting at byte `start`, as a `[rows, rowSize]` tensor reshaped to
  /// `[rows] + shape` when `shape` is not empty.
  private func gather(_ rows: [Int], from start: Int, rowSize: Int, shape: [Int]) -> Tensor {
    let rowBytes = rowSize * MemoryLayout<Float>.size
    let scalars = [Float](unsafeUninitializedCapacity: rows.count * rowSize) { out, initialized in
      bytes.withUnsafeBytes { raw in
        let destination = UnsafeMutableRawBufferPointer(out)
        for (i, row) in rows.enumerated() {
          let offset = start + row * rowBytes
          destination.baseAddress!.advanced(by: i * rowBytes)
            .copyMemory(from: raw.baseAddress!.advanced(by: offset), byteCount: rowBytes)
        }
      }
      initialized = rows.count * rowSize
    }
    return Tensor(shape: [rows.count] + (shape.isEmpty ? [rowSize] : shape), scalars: scalars)
  }
}
