// LongAlign's segment-level text encoding on a CLIP text tower: luping-liu/LongAlign `tools.py`
// (`caption2embed`, the rows and the pad vector) and `loss.py` (the Denscore pooled vector);
// spec B3-B8.

import Core

/// The settings of LongAlign encoding.
public struct LongAlignOptions: Sendable, Equatable {
  /// LongAlign's `--token_length 240`: the rows of the CLIP part of LongSD's conditioning.
  public static let defaultRows = 240
  /// The pad vector averages the empty prompt's last 60 rows (`pad_embed[0, -60:]`): positions
  /// 17..76 of CLIP's 77, all of them end-of-text padding.
  public static let defaultPadAverageRows = 60
  /// Segments per encoder call.
  public static let defaultBatchSize = 32

  public var splitting: SegmentSplitting
  /// Rows `R` of every output: the concatenated rows are cut to it or filled up to it.
  public var rows: Int
  /// Trailing rows of the empty prompt that the pad vector averages; a window shorter than this
  /// averages all of its rows, as the reference's slice does.
  public var padAverageRows: Int
  public var batchSize: Int

  public init(
    splitting: SegmentSplitting = .faithful, rows: Int = Self.defaultRows,
    padAverageRows: Int = Self.defaultPadAverageRows, batchSize: Int = Self.defaultBatchSize
  ) {
    self.splitting = splitting
    self.rows = rows
    self.padAverageRows = padAverageRows
    self.batchSize = batchSize
  }
}

/// One text encoded by ``LongAlignEncoder``.
public struct LongAlignOutput: Sendable {
  /// `[R, W]`: each segment's start-of-text and content rows (final LayerNorm output), in order,
  /// cut to `R` rows or followed by copies of ``LongAlignEncoder/padVector``.
  public var hiddenStates: Tensor
  /// `R` entries: the index in ``segments`` of the segment each row comes from, -1 for pad rows.
  public var segmentIDs: [Int]
  /// `[P]`: the mean of the segments' L2-normalized projected embeddings, not re-normalized
  /// (LongAlign's Denscore reward; LongSD's conditioning has no pooled vector). Nil when the
  /// tower has no projection, as SD 1.5's `CLIPTextModel`, the tower LongSD runs, has not.
  public var embeds: Tensor?
  public var segments: [TextSegment]
  /// Rows before cutting or filling: one start-of-text row plus the content rows per segment.
  public var rowCount: Int
}

/// LongAlign's segment-level encoding: text of any length as a fixed number of CLIP rows.
///
/// Each segment (see ``SegmentSplitting``) is encoded on its own within the tower's window, without
/// an attention mask. Its start-of-text row and content rows are kept, its end-of-text row is
/// dropped; the kept rows of all segments are concatenated, then cut to
/// ``LongAlignOptions/rows`` or filled with ``padVector``. Rows are chosen by position (after
/// start-of-text, before end-of-text), as spec B8 recommends, rather than by the reference's id
/// test, which removes every pad-id token; with CLIP's tokenizers the two agree unless a text
/// holds a literal `<|endoftext|>`, whose row is kept here.
///
/// Segments are encoded in batches padded to their longest member with end-of-text. The tower is
/// causal, so the padding changes no kept row and no segment's end-of-text row: the result equals
/// encoding every segment alone, in time linear in the number of segments.
public struct LongAlignEncoder: Sendable {
  public let encoder: CLIPTextEncoder
  public let tokenizer: CLIPTokenizer
  public let options: LongAlignOptions
  /// `[W]`: the mean of the last ``LongAlignOptions/padAverageRows`` rows of the empty prompt
  /// padded with end-of-text to the window.
  public let padVector: Tensor

  /// The window: the tower's context length.
  public var contextLength: Int { encoder.config.maxPositionEmbeddings }

  /// Throws ``CLIPError/invalidInput(reason:)`` for options that are not positive or a window that
  /// holds no content token.
  public init(encoder: CLIPTextEncoder, tokenizer: CLIPTokenizer, options: LongAlignOptions = .init())
    throws
  {
    for (name, value) in [
      ("rows", options.rows), ("pad average rows", options.padAverageRows),
      ("batch size", options.batchSize),
    ] where value < 1 {
      throw CLIPError.invalidInput(reason: "LongAlign \(name) must be at least 1, got \(value)")
    }
    let window = encoder.config.maxPositionEmbeddings
    guard CLIPTokenizer.contentCapacity(contextLength: window) >= 1 else {
      throw CLIPError.invalidInput(
        reason: "a window of \(window) positions holds no content token")
    }
    self.encoder = encoder
    self.tokenizer = tokenizer
    self.options = options
    let empty = try tokenizer.tokenize("", contextLength: window, padding: .endOfText)
    let hidden = try encoder.encode(tokenIDs: [empty.ids]).lastHiddenState
    let averaged = min(options.padAverageRows, window)
    let width = encoder.config.hiddenSize
    var sum = [Double](repeating: 0, count: width)
    for row in (window - averaged)..<window {
      for c in 0..<width { sum[c] += Double(hidden.scalars[row * width + c]) }
    }
    padVector = Tensor(shape: [width], scalars: sum.map { Float($0 / Double(averaged)) })
  }

  /// The segments of `text`, tokenized for the window (faithful segments truncated to it).
  public func segments(of text: String) throws -> [TextSegment] {
    switch options.splitting {
    case .faithful:
      return try FaithfulSplitter.split(text).map { segment in
        let tokenized = try tokenizer.tokenize(
          segment, contextLength: contextLength, truncation: .truncate, padding: .none)
        return TextSegment(text: segment, ids: tokenized.ids, droppedCount: tokenized.droppedCount)
      }
    case .clean:
      return CleanSegmenter(tokenizer: tokenizer, contextLength: contextLength).segments(text)
    }
  }

  /// Encodes each of `texts`; the segments of all texts share batches.
  ///
  /// `progress` receives the number of segments encoded out of all texts' segments, as `item`.
  public func encode(
    _ texts: [String], progress: ProgressHandler? = nil, item: String = "texts"
  ) throws -> [LongAlignOutput] {
    let segmented = try texts.map { try segments(of: $0) }
    let queue = segmented.indices.flatMap { t in segmented[t].indices.map { (text: t, segment: $0) } }
    let (width, projection, rows) = (
      encoder.config.hiddenSize, encoder.config.projectionDim, options.rows
    )
    var states = segmented.map { _ in [Float]() }
    var owners = segmented.map { _ in [Int]() }
    var rowCounts = segmented.map { _ in 0 }
    // Per text, the sum of its segments' normalized embeddings; nil without a projection.
    var embedSums = encoder.hasProjection
      ? segmented.map { _ in [Double](repeating: 0, count: projection) } : nil

    for start in stride(from: 0, to: queue.count, by: options.batchSize) {
      let batch = queue[start..<min(start + options.batchSize, queue.count)]
      let ids = batch.map { segmented[$0.text][$0.segment].ids }
      let length = ids.map(\.count).max()!
      let padded = ids.map { $0 + repeatElement(tokenizer.endOfTextID, count: length - $0.count) }
      let output = try encoder.encode(tokenIDs: padded)
      for (b, entry) in batch.enumerated() {
        let t = entry.text
        let kept = ids[b].count - 1  // start-of-text and content; not end-of-text
        rowCounts[t] += kept
        let taken = min(kept, rows - owners[t].count)
        if taken > 0 {
          let first = b * length * width
          states[t] += output.lastHiddenState.scalars[first..<(first + taken * width)]
          owners[t] += repeatElement(entry.segment, count: taken)
        }
        output.embeds?.withRow(b) { embed in
          let norm = max(Double(embed.reduce(0) { $0 + $1 * $1 }.squareRoot()), Self.normEpsilon)
          for c in 0..<projection { embedSums![t][c] += Double(embed[c]) / norm }
        }
      }
      progress?(ProgressReport(item: item, completed: start + batch.count, total: queue.count, unit: "segments"))
    }

    return segmented.indices.map { t in
      let fill = rows - owners[t].count
      for _ in 0..<fill { states[t] += padVector.scalars }
      let count = Double(segmented[t].count)
      return LongAlignOutput(
        hiddenStates: Tensor(shape: [rows, width], scalars: states[t]),
        segmentIDs: owners[t] + repeatElement(Self.padRowSegment, count: fill),
        embeds: embedSums.map {
          Tensor(shape: [projection], scalars: $0[t].map { Float($0 / count) })
        },
        segments: segmented[t], rowCount: rowCounts[t])
    }
  }

  /// ``LongAlignOutput/segmentIDs`` of a pad row.
  public static let padRowSegment = -1
  /// The floor of a norm before dividing by it, as PyTorch's `F.normalize` uses.
  static let normEpsilon = 1e-12
}
