// Long-CLIP's knowledge-preserved stretching of the text position table: beichenzbc/Long-CLIP
// `model/longclip.py`, `load_from_clip` (spec A3), and the context lengths that make a checkpoint
// "long".

import Core

/// Knowledge-preserved stretching (KPS): a longer text position table built from a trained one
/// without training, as Long-CLIP initialises its 248 positions from CLIP's 77.
///
/// The first ``keptRows`` rows, which carry most of what CLIP learned about word order, are copied
/// unchanged. Every later gap between neighbouring rows is filled by linear interpolation, giving
/// ``ratio`` rows per source row, and the last source row, which has no right neighbour, is
/// extended by linear extrapolation. A table of `P` rows becomes one of
/// `keptRows + ratio * (P - keptRows)` rows: 248 for CLIP's 77 with the defaults.
///
/// Long-CLIP computes the table in float16 (`load_from_clip`); this computes it in float32 with
/// the spec's pseudocode, `((ratio - k) * a + k * b) / ratio` for the interpolated rows, so
/// expect differences of about 1e-3 from a table made by the reference code.
public struct PositionStretch: Sendable, Equatable {
  /// Long-CLIP's kept rows.
  public static let defaultKeptRows = 20
  /// Long-CLIP's interpolation factor.
  public static let defaultRatio = 4
  /// Long-CLIP's stretch: 77 rows become 248.
  public static let longCLIP = PositionStretch()

  /// Rows copied unchanged from the start of the table.
  public var keptRows: Int
  /// Rows made from each later source row.
  public var ratio: Int

  public init(keptRows: Int = Self.defaultKeptRows, ratio: Int = Self.defaultRatio) {
    self.keptRows = keptRows
    self.ratio = ratio
  }

  /// Rows of the stretched table made from a table of `positions` rows.
  public func stretchedLength(of positions: Int) -> Int {
    keptRows + ratio * (positions - keptRows)
  }

  /// Stretches `table` `[P, W]` to `[keptRows + ratio * (P - keptRows), W]`.
  ///
  /// Throws ``CLIPError/invalidInput(reason:)`` unless `ratio >= 1`, `keptRows >= 0` and the
  /// table has more rows than are kept and at least two (the extrapolation needs the last two).
  public func callAsFunction(_ table: Tensor) throws -> Tensor {
    guard table.rank == 2 else {
      throw CLIPError.invalidInput(reason: "position table \(table.shape) is not [positions, width]")
    }
    let (positions, width) = (table.shape[0], table.shape[1])
    guard ratio >= 1, keptRows >= 0 else {
      throw CLIPError.invalidInput(
        reason: "stretch needs a ratio of at least 1 and no negative kept rows, got ratio "
          + "\(ratio) and \(keptRows) kept rows")
    }
    guard positions > keptRows, positions >= 2 else {
      throw CLIPError.invalidInput(
        reason: "a position table of \(positions) rows cannot be stretched keeping \(keptRows) "
          + "rows: it needs more rows than are kept, and at least 2")
    }
    let r = Float(ratio)
    let source = table.scalars
    return Tensor(uninitializedShape: [stretchedLength(of: positions), width]) { out in
      func row(_ index: Int) -> UnsafeMutableBufferPointer<Float> {
        UnsafeMutableBufferPointer(rebasing: out[(index * width)..<((index + 1) * width)])
      }
      for p in 0..<keptRows {
        for c in 0..<width { row(p)[c] = source[p * width + c] }
      }
      // Rows keptRows..<(P - 1) each start `ratio` rows that walk towards the next source row.
      for i in 0..<(positions - keptRows - 1) {
        let (a, b) = ((keptRows + i) * width, (keptRows + i + 1) * width)
        for k in 0..<ratio {
          let target = row(keptRows + ratio * i + k)
          let (wa, wb) = (Float(ratio - k), Float(k))
          for c in 0..<width { target[c] = (wa * source[a + c] + wb * source[b + c]) / r }
        }
      }
      // The last source row has no right neighbour: continue the last step's slope.
      let tail = keptRows + ratio * (positions - keptRows - 1)
      let (last, before) = ((positions - 1) * width, (positions - 2) * width)
      for k in 0..<ratio {
        let target = row(tail + k)
        for c in 0..<width {
          let step = source[last + c] - source[before + c]
          target[c] = source[last + c] + Float(k) * step / r
        }
      }
    }
  }
}

extension CLIPTextEncoder {
  /// This encoder with its position table stretched by `stretch`, so that it takes
  /// `stretch.stretchedLength(of: maxPositionEmbeddings)` tokens (248 for CLIP's 77).
  ///
  /// Only the position table changes. Long-CLIP fine-tunes every weight after stretching, so a
  /// stretched vanilla checkpoint is a training-free approximation (what the Long-CLIP authors
  /// use for OpenCLIP bigG), not Long-CLIP.
  public func stretched(_ stretch: PositionStretch = .longCLIP) throws -> CLIPTextEncoder {
    try replacingPositionEmbedding(stretch(positionEmbedding))
  }
}

/// The context lengths that tell a Long-CLIP text tower from CLIP's.
public enum LongCLIP {
  /// The context of the CLIP text towers that Long-CLIP stretches (OpenAI's 77, which is also
  /// transformers' default `max_position_embeddings`).
  public static let clipContextLength = CLIPTextConfig().maxPositionEmbeddings

  /// Whether a text tower takes more tokens than CLIP's own context, as Long-CLIP's converted or
  /// stretched towers do.
  public static func hasLongContext(_ config: CLIPTextConfig) -> Bool {
    config.maxPositionEmbeddings > clipContextLength
  }
}
