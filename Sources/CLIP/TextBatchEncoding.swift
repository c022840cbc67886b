// Tokenized texts through a CLIP text tower in batches: what `get_text_features` and
// `CLIPTextModel(input_ids)` return for a padded batch, with transformers' tokenizer padding.

import Core

/// The text tower's outputs for a list of tokenized texts.
public struct TextBatchOutput: Sendable {
  /// `[N, T, W]` with `T` the tokenized length (the context), when asked for.
  public var lastHiddenState: Tensor?
  /// `[N, W]`: the hidden state at each text's pooling position.
  public var pooled: Tensor
  /// `[N, P]`: `pooled` times the projection, not normalized; nil without a projection.
  public var embeds: Tensor?
}

extension CLIPTextEncoder {
  /// Encodes `texts`, each tokenized to one length `T` (see
  /// ``CLIPTokenizer/tokenize(_:contextLength:truncation:padding:)``), `batchSize` at a time.
  ///
  /// - `maskPadding`: pass the tokenizer's attention mask (false after end-of-text), as
  ///   transformers does for `model(**tokenizer(...))`. Without it the padding is attended, as
  ///   diffusers, Long-CLIP and LongAlign run the tower; only the rows after end-of-text differ.
  /// - `keepHiddenStates`: return `lastHiddenState`. Without it each batch is cut after its
  ///   longest text's end-of-text, which changes no pooled row (the tower is causal).
  public func encode(
    texts: [TokenizedText], maskPadding: Bool = false, keepHiddenStates: Bool = false,
    batchSize: Int, progress: ProgressHandler? = nil, item: String = "texts"
  ) throws -> TextBatchOutput {
    precondition(batchSize >= 1, "batch size must be at least 1")
    let (width, projection) = (config.hiddenSize, config.projectionDim)
    let length = texts.first?.ids.count ?? 0
    var hidden: [Float] = []
    var pooled: [Float] = []
    var embeds: [Float]? = hasProjection ? [] : nil
    for start in stride(from: 0, to: texts.count, by: batchSize) {
      let batch = texts[start..<min(start + batchSize, texts.count)]
      // Start-of-text, content and end-of-text: everything a pooled row can see.
      let used = batch.map { $0.contentCount + CLIPTokenizer.specialTokensPerText }
      let kept = keepHiddenStates ? length : min(length, used.max()!)
      let ids = batch.map { Array($0.ids.prefix(kept)) }
      let mask = maskPadding ? used.map { n in (0..<kept).map { $0 < n } } : nil
      let output = try encode(tokenIDs: ids, attentionMask: mask)
      if keepHiddenStates { hidden += output.lastHiddenState.scalars }
      pooled += output.pooled.scalars
      if let projected = output.embeds { embeds! += projected.scalars }
      progress?(ProgressReport(item: item, completed: start + batch.count, total: texts.count, unit: "texts"))
    }
    let n = texts.count
    return TextBatchOutput(
      lastHiddenState: keepHiddenStates ? Tensor(shape: [n, length, width], scalars: hidden) : nil,
      pooled: Tensor(shape: [n, width], scalars: pooled),
      embeds: embeds.map { Tensor(shape: [n, projection], scalars: $0) })
  }
}
