import CLIP
import Core
import Foundation
import Media

/// Turns videos into per-frame CLIP image embeddings: index the stream, choose frames, take what
/// an ``EmbeddingStore`` already holds, decode and encode only the rest, and store them.
///
/// Frames are decoded at full resolution with explicit colour handling, preprocessed exactly as
/// transformers' slow `CLIPImageProcessor` does (``ImagePreprocessor``), and encoded in batches
/// by the vision tower; decoding overlaps encoding and memory stays bounded for any video
/// length (see ``FramePipeline``). An embedder can be used for many videos, one at a time.
public final class VideoEmbedder: Sendable {
  /// Frames per encoder call when none is given.
  public static let defaultBatchSize = 16
  /// Batches decoded ahead of the encoder: enough to keep it busy, few enough to bound memory.
  public static let queuedBatches = 2

  public let modelDirectory: String
  /// What decides each frame's embedding: decoder, colour, preprocessing, model, output kind.
  public let recipe: FrameRecipe
  public let batchSize: Int
  private let pipeline: FramePipeline
  private let decoderThreads: Int

  /// Loads the vision tower and image preprocessing of the model in `modelDirectory` (a
  /// `CLIPModel` or `CLIPVisionModelWithProjection` checkpoint with `preprocessor_config.json`).
  ///
  /// - Parameters:
  ///   - tokens: also return the vision tower's `last_hidden_state` per frame.
  ///   - color: how decoded pictures become RGB.
  ///   - batchSize: frames per encoder call.
  ///   - decoderThreads: FFmpeg decoder threads (1 keeps errors attached to their packet).
  public init(
    modelDirectory: String, tokens: Bool = false, color: ColorSettings = .default,
    batchSize: Int = VideoEmbedder.defaultBatchSize, decoderThreads: Int = 1
  ) throws {
    precondition(batchSize >= 1, "batch size \(batchSize)")
    let encoder = try CLIPVisionEncoder.load(directory: modelDirectory)
    guard encoder.hasProjection else {
      throw CLIPError.invalidConfig(
        path: (modelDirectory as NSString).appendingPathComponent("config.json"),
        reason: "a vision tower without its projection (CLIPVisionModel) has no image embeddings; "
          + "video needs a CLIPModel or CLIPVisionModelWithProjection checkpoint")
    }
    let preprocessorPath = (modelDirectory as NSString).appendingPathComponent(preprocessorConfigFileName)
    let preprocessor = try ImagePreprocessor(contentsOf: preprocessorPath)
    // A video frame must become the tower's square input; catch a config that would not (no
    // centre crop) now rather than on the first frame.
    let size = encoder.config.imageSize
    let nominal = preprocessor.outputShape(width: 16 * size, height: 9 * size)
    guard nominal == [encoder.config.numChannels, size, size] else {
      throw CLIPError.invalidConfig(
        path: preprocessorPath,
        reason: "turns a 16:9 frame into \(nominal), but the vision tower takes [\(encoder.config.numChannels), \(size), \(size)]")
    }
    self.modelDirectory = modelDirectory
    self.batchSize = batchSize
    self.decoderThreads = decoderThreads
    recipe = FrameRecipe(
      color: color, preprocessing: PreprocessingRecipe(preprocessor.config),
      modelSHA256: try modelHash(directory: modelDirectory), output: tokens ? .embeddingsAndTokens : .embeddings)
    pipeline = FramePipeline(
      encoder: encoder, preprocessor: preprocessor, batchSize: batchSize, queueDepth: Self.queuedBatches,
      tokens: tokens)
  }

  /// Whether results include `tokens`.
  public var includesTokens: Bool { recipe.output == .embeddingsAndTokens }

  /// Embeds the frames `sampling` chooses from the video at `path`.
  ///
  /// With a `store`, frames it holds are not decoded again, and the frames computed here are
  /// added to it under the entry's writer lock (so processes sharing a store compute each frame
  /// once). Nothing is stored when anything fails.
  ///
  /// - Throws: ``MediaError`` (unreadable, damaged or truncated file, no video stream),
  ///   ``SamplingError``, or the store's errors; each names the file.
  public func embed(
    path: String, sampling: FrameSampling, store: (any EmbeddingStore)? = nil, progress: ProgressHandler? = nil
  ) throws -> VideoEmbedding {
    let started = ContinuousClock.now
    let (reader, selection, source) = try choose(path: path, sampling: sampling, store: store)
    let index = reader.index
    let wanted = Array(Set(selection.positions)).sorted()
    let wantedPTS = Set(wanted.map { index.pts[$0] })
    var gathered = GatheredFrames(wanted: wantedPTS, shape: outputShape)
    var warnings: [CacheWarning] = []
    var fromCache = 0
    var encoded = 0
    var encoderSeconds = 0.0
    func report() {
      progress?(ProgressReport(item: path, completed: fromCache + encoded, total: wanted.count, unit: "frames"))
    }
    func compute(_ positions: [Int]) throws -> FrameEmbeddings {
      let (embeddings, tokens, seconds) = try pipeline.run(reader: reader, positions: positions) { done in
        encoded = done
        report()
      }
      encoderSeconds = seconds
      return FrameEmbeddings(
        pts: positions.map { index.pts[$0] }, timestamps: positions.map(index.seconds(at:)),
        frameIndex: positions.map(Int64.init), embeddings: embeddings, tokens: tokens)
    }

    if let store {
      let (stored, readWarnings) = store.frames(source: source, recipe: recipe, pts: wantedPTS)
      warnings += readWarnings
      fromCache += gathered.add(stored, warnings: &warnings, label: path)
      report()
      if !gathered.missing.isEmpty {
        let (_, writeWarnings) = try store.update(source: source, recipe: recipe) { current in
          // Another process may have stored frames since the lock-free read.
          fromCache += gathered.add(current, warnings: &warnings, label: path)
          report()
          let computed = try compute(wanted.filter { gathered.missing.contains(index.pts[$0]) })
          _ = gathered.add(computed, warnings: &warnings, label: path)
          return computed
        }
        warnings += writeWarnings
      }
    } else {
      report()
      _ = gathered.add(try compute(wanted), warnings: &warnings, label: path)
    }

    let rows = selection.positions.map { index.pts[$0] }
    let (embeddings, tokens) = gathered.assemble(rows)
    let counts = EmbeddingCounts(
      frames: rows.count, decoded: reader.framesDecoded, encoded: encoded, fromCache: fromCache,
      seconds: (ContinuousClock.now - started).seconds, encoderSeconds: encoderSeconds)
    return VideoEmbedding(
      path: path, source: source, stream: reader.stream, timeBase: index.timeBase, recipe: recipe,
      sampling: sampling, selection: selection, pts: rows, timestamps: selection.positions.map(index.seconds(at:)),
      frameIndex: selection.positions.map(Int64.init), embeddings: embeddings, tokens: tokens, counts: counts,
      cacheWarnings: warnings)
  }

  /// What ``embed(path:sampling:store:progress:)`` would do for the video at `path`, found
  /// without decoding a frame: which frames the sampling chooses and how many `store` already
  /// holds. Nothing is written; reading the store only refreshes its entries' last-use times.
  ///
  /// - Throws: the errors of ``embed(path:sampling:store:progress:)`` that come before decoding.
  public func plan(path: String, sampling: FrameSampling, store: (any EmbeddingStore)? = nil) throws -> EmbeddingPlan {
    let (reader, selection, source) = try choose(path: path, sampling: sampling, store: store)
    let wantedPTS = Set(selection.positions.map { reader.index.pts[$0] })
    let (stored, warnings) = store?.frames(source: source, recipe: recipe, pts: wantedPTS) ?? (nil, [])
    let cached = stored.map { Set($0.pts).intersection(wantedPTS).count } ?? 0
    return EmbeddingPlan(
      path: path, source: source, frames: selection.positions.count, distinctFrames: wantedPTS.count,
      fromCache: cached, cacheWarnings: warnings)
  }

  /// Opens and indexes the video, chooses its frames and identifies its content.
  private func choose(
    path: String, sampling: FrameSampling, store: (any EmbeddingStore)?
  ) throws -> (VideoReader, FrameSelection, SourceID) {
    let reader = try VideoReader(path: path, color: recipe.color, threads: decoderThreads)
    // A cut or damaged stream still indexes the frames before the damage; embedding them as if
    // they were the whole video would be a silent partial result.
    if let problem = reader.index.end.problem { throw MediaError.truncated(path: path, reason: problem) }
    let selection = try sampling.select(from: reader.index, videoFPS: averageFrameRate(reader), path: path)
    let source = SourceID(sha256: try contentHash(path: path, store: store), streamIndex: reader.stream.index)
    return (reader, selection, source)
  }

  private var outputShape: GatheredFrames.Shape {
    let config = pipeline.encoder.config
    return GatheredFrames.Shape(
      projection: config.projectionDim, tokens: includesTokens ? [config.positionCount, config.hiddenSize] : nil)
  }
}

/// The name of the image preprocessing config in a Hugging Face model directory.
private let preprocessorConfigFileName = "preprocessor_config.json"

/// The frame rate the fps forms of published samplers divide by: the stream's average frame
/// rate, as decord, torchvision and torchcodec report it; from the index when the container does
/// not say.
private func averageFrameRate(_ reader: VideoReader) -> Double {
  if let rate = reader.stream.avgFrameRate.value, rate.isFinite, rate > 0 { return rate }
  let index = reader.index
  guard index.count >= 2, let first = index.pts.first, let last = index.pts.last, last > first else { return 1 }
  let span = index.seconds(at: index.count - 1) - index.seconds(at: 0)
  return Double(index.count - 1) / span
}

/// The SHA-256 of the file at `path`: remembered by the on-disk cache when there is one (so an
/// unchanged hour of video is not read again), else computed.
private func contentHash(path: String, store: (any EmbeddingStore)?) throws -> String {
  if let cache = store as? EmbeddingCache { return try cache.sources.contentHash(path: path) }
  return try sha256(file: path)
}

/// What embedding one video would take: see ``VideoEmbedder/plan(path:sampling:store:)``.
public struct EmbeddingPlan: Sendable, Equatable {
  public let path: String
  public let source: SourceID
  /// Rows of the output (a frame chosen twice counts twice).
  public let frames: Int
  /// Different frames among them: what would be read from the store or encoded.
  public let distinctFrames: Int
  /// Of ``distinctFrames``, those the store holds.
  public let fromCache: Int
  /// Stored entries that could not be used.
  public let cacheWarnings: [CacheWarning]

  /// Frames that would be decoded and encoded.
  public var toEncode: Int { distinctFrames - fromCache }
}

/// Frame counts of one ``VideoEmbedder/embed(path:sampling:store:progress:)`` call, also
/// written into the output metadata and the CLI's JSON progress.
public struct EmbeddingCounts: Sendable, Equatable {
  /// Rows of the result (a frame chosen twice counts twice).
  public var frames: Int
  /// Frames the decoder produced, including those decoded only to reach a chosen frame.
  public var decoded: Int
  /// Distinct frames run through the vision tower.
  public var encoded: Int
  /// Distinct frames taken from the store.
  public var fromCache: Int
  /// Wall time of the call.
  public var seconds: Double
  /// Part of ``seconds`` spent in the vision tower (decoding runs alongside on another thread).
  public var encoderSeconds: Double
}

/// Per-frame embeddings of one video, in the order the sampler chose the frames.
public struct VideoEmbedding: Sendable {
  public let path: String
  public let source: SourceID
  public let stream: VideoStreamInfo
  /// The unit of ``pts``.
  public let timeBase: Rational
  public let recipe: FrameRecipe
  public let sampling: FrameSampling
  public let selection: FrameSelection
  /// `[T]`: each row's presentation timestamp (stream time base), seconds and position in the
  /// stream's presentation order. A frame chosen twice has two equal rows.
  public let pts: [Int64]
  public let timestamps: [Double]
  public let frameIndex: [Int64]
  /// `[T, P]`: the vision tower's projected, unnormalized `image_embeds`.
  public let embeddings: Tensor
  /// `[T, 1 + patches, W]`: the tower's `last_hidden_state`, when the recipe asks for tokens.
  public let tokens: Tensor?
  public let counts: EmbeddingCounts
  /// Stored entries that could not be used (each one a miss, not a failure).
  public let cacheWarnings: [CacheWarning]

  /// The export layout: `embeddings` [T, P] float32, `timestamps` [T] float64, `pts` [T] int64,
  /// `frame_index` [T] int64, and `tokens` [T, 1 + patches, W] float32 when present.
  public var arrays: [NamedArray] {
    let t = pts.count
    var arrays = [
      NamedArray("embeddings", embeddings),
      NamedArray("timestamps", shape: [t], values: .float64(timestamps)),
      NamedArray("pts", shape: [t], values: .int64(pts)),
      NamedArray("frame_index", shape: [t], values: .int64(frameIndex)),
    ]
    if let tokens { arrays.append(NamedArray("tokens", tokens)) }
    return arrays
  }

  /// Where the arrays came from, as output metadata: source, recipe, frame counts, sampler and
  /// counts (the model's identity is the caller's to add).
  public var metadata: [String: String] {
    var values: [String: String] = [
      "source.path": path,
      "source.sha256": source.sha256,
      "source.stream": String(source.streamIndex),
      "source.id": source.description,
      // Encoding a recipe (plain values with string keys) cannot fail.
      "recipe": String(decoding: try! recipe.json(), as: UTF8.self),
      "recipe.id": recipe.id,
      "frames.indexed": String(stream.indexedFrameCount ?? 0),
      "frames.container": stream.containerFrameCount.map(String.init) ?? "unknown",
      "frames.used": "indexed",
      "time_base": "\(timeBase.numerator)/\(timeBase.denominator)",
      "counts.frames": String(counts.frames),
      "counts.decoded": String(counts.decoded),
      "counts.encoded": String(counts.encoded),
      "counts.from_cache": String(counts.fromCache),
      "counts.seconds": String(format: "%.3f", counts.seconds),
      "counts.encoder_seconds": String(format: "%.3f", counts.encoderSeconds),
    ]
    values.merge(sampling.metadata) { $1 }
    values.merge(selection.metadata) { $1 }
    return values
  }
}

/// Frames collected by PTS from the store and from the encoder, then laid out in output order.
private struct GatheredFrames {
  struct Shape {
    var projection: Int
    /// `[1 + patches, W]` when tokens are wanted.
    var tokens: [Int]?
  }

  let shape: Shape
  private(set) var missing: Set<Int64>
  private var sources: [FrameEmbeddings] = []
  private var location: [Int64: (source: Int, row: Int)] = [:]

  init(wanted: Set<Int64>, shape: Shape) {
    self.shape = shape
    missing = wanted
  }

  /// Takes the wanted, still missing frames of `frames`; returns how many. Frames of another
  /// shape (which a matching recipe rules out) are left as misses with a warning.
  mutating func add(_ frames: FrameEmbeddings?, warnings: inout [CacheWarning], label: String) -> Int {
    guard let frames, frames.count > 0 else { return 0 }
    let tokensFit = shape.tokens.map { frames.tokens.map { Array($0.shape.dropFirst()) } == $0 } ?? true
    guard frames.embeddings.shape[1] == shape.projection, tokensFit else {
      warnings.append(
        CacheWarning(
          path: label,
          reason: "stored frames have embeddings \(frames.embeddings.shape) and tokens \(frames.tokens?.shape ?? []), which this model does not produce; recomputing"))
      return 0
    }
    sources.append(frames)
    var taken = 0
    for (row, pts) in frames.pts.enumerated() where missing.contains(pts) {
      missing.remove(pts)
      location[pts] = (sources.count - 1, row)
      taken += 1
    }
    return taken
  }

  /// `[T, P]` embeddings and `[T, 1 + patches, W]` tokens for the frames `rows`, all gathered.
  func assemble(_ rows: [Int64]) -> (embeddings: Tensor, tokens: Tensor?) {
    precondition(missing.isEmpty, "\(missing.count) frames were neither stored nor computed")
    func gather(width: Int, _ tensor: (FrameEmbeddings) -> Tensor) -> [Float] {
      var out = [Float]()
      out.reserveCapacity(rows.count * width)
      for pts in rows {
        let (source, row) = location[pts]!
        tensor(sources[source]).withRow(row) { out += $0 }
      }
      return out
    }
    let embeddings = Tensor(
      shape: [rows.count, shape.projection], scalars: gather(width: shape.projection) { $0.embeddings })
    let tokens = shape.tokens.map { inner in
      Tensor(shape: [rows.count] + inner, scalars: gather(width: inner.reduce(1, *)) { $0.tokens! })
    }
    return (embeddings, tokens)
  }
}
