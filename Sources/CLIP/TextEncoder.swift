// Port of transformers 4.57 `models/clip/modeling_clip.py`: CLIPTextEmbeddings, CLIPTextTransformer
// (all of CLIPTextModel) and the text projection of CLIPModel / CLIPTextModelWithProjection
// (`get_text_features`).

import Core

/// CLIP's text tower: token ids in, hidden states, the pooled end-of-text state and its projection
/// out, equal to transformers' `CLIPTextModelWithProjection`, or without the projection to
/// `CLIPTextModel` (see ``hasProjection``).
///
/// Any sequence length from 1 to ``CLIPTextConfig/maxPositionEmbeddings`` is accepted, so the same
/// encoder serves CLIP's 77 positions and longer tables such as Long-CLIP's (see
/// ``replacingPositionEmbedding(_:)``).
public struct CLIPTextEncoder: Sendable {
  /// The tower's sizes; `projectionDim` is the width of ``CLIPEncoderOutput/embeds`` when the
  /// tower has its projection.
  public private(set) var config: CLIPTextConfig
  /// `[V, W]`.
  private let tokenEmbedding: Tensor
  /// `[maxPositionEmbeddings, W]`: row `t` is added to the token at position `t`.
  public private(set) var positionEmbedding: Tensor
  private let encoder: CLIPEncoder
  private let finalLayerNorm: LayerNorm
  /// Nil for a `CLIPTextModel`.
  private let projection: Linear?

  /// The `eos_token_id` of configs written before transformers PR #24773, which pool at the
  /// largest id instead (CLIP's end-of-text is the largest id of its vocabulary).
  private static let legacyEOSTokenID = 2

  /// Reads the tower's tensors below `weights`: `text_model.*` and, `withProjection`,
  /// `text_projection.weight`; the names shared by `CLIPModel`, `CLIPTextModelWithProjection`
  /// and `CLIPTextModel` checkpoints.
  ///
  /// Throws ``WeightError`` for a missing tensor or one whose shape does not fit `config`.
  /// `config` must be valid (every config decoded from a file is).
  public init(config: CLIPTextConfig, weights: WeightReader, withProjection: Bool = true) throws {
    try self.init(config: config, source: weights, withProjection: withProjection)
  }

  /// Builds the tower from any tensor source with checkpoint names (see
  /// ``init(config:weights:withProjection:)``).
  package init(
    config: CLIPTextConfig, source weights: some CLIPWeightSource, withProjection: Bool = true
  ) throws {
    precondition(config.invariantViolation == nil, config.invariantViolation ?? "")
    self.config = config
    let w = config.hiddenSize
    let model = weights.scoped(CLIPWeightNames.textModel)
    let embeddings = model.scoped("embeddings")
    tokenEmbedding = try embeddings.scoped("token_embedding")("weight", shape: [config.vocabSize, w])
    positionEmbedding = try embeddings.scoped("position_embedding")(
      "weight", shape: [config.maxPositionEmbeddings, w])
    encoder = try CLIPEncoder(model.scoped("encoder"), sizes: config.encoderSizes)
    finalLayerNorm = try LayerNorm(
      model.scoped("final_layer_norm"), width: w, eps: config.layerNormEps)
    projection =
      withProjection
      ? try Linear(
        weights.scoped(CLIPWeightNames.textProjection), inFeatures: w,
        outFeatures: config.projectionDim, bias: false) : nil
  }

  /// Whether the tower ends in its projection, so that outputs carry ``CLIPEncoderOutput/embeds``.
  public var hasProjection: Bool { projection != nil }

  /// This encoder with another position table, `[positions, W]`, whose row count becomes
  /// ``CLIPTextConfig/maxPositionEmbeddings`` (Long-CLIP's stretched 248-row table, say).
  public func replacingPositionEmbedding(_ table: Tensor) throws -> CLIPTextEncoder {
    guard table.rank == 2, table.shape[0] >= 1, table.shape[1] == config.hiddenSize else {
      throw CLIPError.invalidInput(
        reason: "position table \(table.shape) does not fit a text encoder of width "
          + "\(config.hiddenSize); expected [positions, \(config.hiddenSize)]")
    }
    var encoder = self
    encoder.positionEmbedding = table
    encoder.config.maxPositionEmbeddings = table.shape[0]
    return encoder
  }

  /// Encodes a batch of token-id sequences of one length `T`.
  ///
  /// - `tokenIDs`: `N` sequences of `T` ids each, `1 <= T <= maxPositionEmbeddings`, as the
  ///   tokenizer makes them (start-of-text, tokens, end-of-text, padding).
  /// - `attentionMask`: `N` rows of `T` flags, `false` at padding. Padded keys are hidden from
  ///   every position, on top of the causal mask. With right padding (what CLIP tokenizers make),
  ///   positions up to the first end-of-text are the same with or without it, and so are the
  ///   pooled output and embeds. With left padding, a position before the first unmasked token
  ///   sees no key at all: its attention output is zero here, while transformers' additive
  ///   `finfo.min` masks make it an average over masked keys. Only those padded rows of
  ///   `lastHiddenState` differ; no other position attends to them.
  /// - Returns `lastHiddenState` `[N, T, W]` (after the final LayerNorm), `pooled` `[N, W]` (the
  ///   hidden state at ``poolingIndex(of:)``) and `embeds` `[N, P]` (pooled times the projection,
  ///   not normalized; nil without a projection).
  public func encode(tokenIDs: [[Int]], attentionMask: [[Bool]]? = nil) throws
    -> CLIPEncoderOutput
  {
    let w = config.hiddenSize
    guard let length = tokenIDs.first?.count else {
      return CLIPEncoderOutput(
        lastHiddenState: Tensor(repeating: 0, shape: [0, 0, w]),
        pooled: Tensor(repeating: 0, shape: [0, w]),
        embeds: projection.map { _ in Tensor(repeating: 0, shape: [0, config.projectionDim]) })
    }
    try validate(tokenIDs: tokenIDs, length: length, attentionMask: attentionMask)
    let n = tokenIDs.count

    // Embeddings: token row plus position row.
    let embedded = tokenEmbedding.scalars.withUnsafeBufferPointer { tokens in
      positionEmbedding.scalars.withUnsafeBufferPointer { positions in
        Tensor(uninitializedShape: [n, length, w]) { out in
          for (b, ids) in tokenIDs.enumerated() {
            for (t, id) in ids.enumerated() {
              let row = out.baseAddress! + (b * length + t) * w
              let token = tokens.baseAddress! + id * w
              let position = positions.baseAddress! + t * w
              for i in 0..<w { row[i] = token[i] + position[i] }
            }
          }
        }
      }
    }
    let hidden = finalLayerNorm(encoder(embedded, causal: true, keyMask: attentionMask))

    let pooled = hidden.scalars.withUnsafeBufferPointer { states in
      Tensor(uninitializedShape: [n, w]) { out in
        for (b, ids) in tokenIDs.enumerated() {
          let source = states.baseAddress! + (b * length + poolingIndex(of: ids)) * w
          (out.baseAddress! + b * w).update(from: source, count: w)
        }
      }
    }
    return CLIPEncoderOutput(
      lastHiddenState: hidden, pooled: pooled, embeds: projection.map { $0(pooled) })
  }

  /// The position of `ids` whose final hidden state is the pooled output, as transformers 4.57
  /// chooses it: with the legacy `eos_token_id` 2, the first position of the largest id; otherwise
  /// the first position holding `eos_token_id`, or 0 when there is none (PyTorch's argmax of an
  /// all-false row). With end-of-text padding both pick the first end-of-text.
  public func poolingIndex(of ids: [Int]) -> Int {
    if config.eosTokenId == Self.legacyEOSTokenID {
      guard let largest = ids.max() else { return 0 }
      return ids.firstIndex(of: largest)!
    }
    return ids.firstIndex(of: config.eosTokenId) ?? 0
  }

  private func validate(tokenIDs: [[Int]], length: Int, attentionMask: [[Bool]]?) throws {
    let limit = config.maxPositionEmbeddings
    guard length >= 1, length <= limit else {
      throw CLIPError.invalidInput(
        reason: "token sequences of \(length) ids; the text encoder takes 1 to \(limit)")
    }
    for (b, ids) in tokenIDs.enumerated() {
      guard ids.count == length else {
        throw CLIPError.invalidInput(
          reason: "token sequence \(b) has \(ids.count) ids, sequence 0 has \(length); "
            + "pad the batch to one length")
      }
      if let bad = ids.first(where: { $0 < 0 || $0 >= config.vocabSize }) {
        throw CLIPError.invalidInput(
          reason: "token sequence \(b) holds id \(bad), outside the vocabulary of "
            + "\(config.vocabSize)")
      }
    }
    if let mask = attentionMask {
      guard mask.count == tokenIDs.count, mask.allSatisfy({ $0.count == length }) else {
        throw CLIPError.invalidInput(
          reason: "the attention mask must hold \(tokenIDs.count) rows of \(length) flags, "
            + "one per token id")
      }
    }
  }
}

extension CLIPTextConfig {
  var encoderSizes: EncoderSizes {
    EncoderSizes(
      width: hiddenSize, heads: numAttentionHeads, intermediate: intermediateSize,
      layers: numHiddenLayers, activation: hiddenAct, eps: layerNormEps)
  }
}
