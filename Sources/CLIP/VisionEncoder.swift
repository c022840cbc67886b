// Port of transformers 4.57 `models/clip/modeling_clip.py`: CLIPVisionEmbeddings (without
// position interpolation), CLIPVisionTransformer (all of CLIPVisionModel) and the visual
// projection of CLIPModel / CLIPVisionModelWithProjection (`get_image_features`).

import Core

/// CLIP's vision tower: normalized pixels in, patch hidden states, the pooled class token and its
/// projection out, equal to transformers' `CLIPVisionModelWithProjection`, or without the
/// projection to `CLIPVisionModel` (see ``hasProjection``).
public struct CLIPVisionEncoder: Sendable {
  /// The tower's sizes; `projectionDim` is the width of ``CLIPEncoderOutput/embeds`` when the
  /// tower has its projection.
  public let config: CLIPVisionConfig
  /// `[W]`: the learned class token placed before the patches.
  private let classEmbedding: Tensor
  /// `[W, C, patch, patch]`: a stride-`patch` convolution without bias.
  private let patchEmbedding: Tensor
  /// `[1 + patches, W]`.
  private let positionEmbedding: Tensor
  /// Spelled `pre_layrnorm` in the checkpoints.
  private let preLayerNorm: LayerNorm
  private let encoder: CLIPEncoder
  private let postLayerNorm: LayerNorm
  /// Nil for a `CLIPVisionModel`.
  private let projection: Linear?

  /// Reads the tower's tensors below `weights`: `vision_model.*` and, `withProjection`,
  /// `visual_projection.weight`; the names shared by `CLIPModel`,
  /// `CLIPVisionModelWithProjection` and `CLIPVisionModel` checkpoints.
  ///
  /// Throws ``WeightError`` for a missing tensor or one whose shape does not fit `config`.
  /// `config` must be valid (every config decoded from a file is).
  public init(config: CLIPVisionConfig, weights: WeightReader, withProjection: Bool = true) throws {
    try self.init(config: config, source: weights, withProjection: withProjection)
  }

  /// Builds the tower from any tensor source with checkpoint names (see
  /// ``init(config:weights:withProjection:)``).
  package init(
    config: CLIPVisionConfig, source weights: some CLIPWeightSource, withProjection: Bool = true
  ) throws {
    precondition(config.invariantViolation == nil, config.invariantViolation ?? "")
    self.config = config
    let w = config.hiddenSize
    let model = weights.scoped(CLIPWeightNames.visionModel)
    let embeddings = model.scoped("embeddings")
    classEmbedding = try embeddings("class_embedding", shape: [w])
    patchEmbedding = try embeddings.scoped("patch_embedding")(
      "weight", shape: [w, config.numChannels, config.patchSize, config.patchSize])
    positionEmbedding = try embeddings.scoped("position_embedding")(
      "weight", shape: [config.positionCount, w])
    preLayerNorm = try LayerNorm(model.scoped("pre_layrnorm"), width: w, eps: config.layerNormEps)
    encoder = try CLIPEncoder(model.scoped("encoder"), sizes: config.encoderSizes)
    postLayerNorm = try LayerNorm(
      model.scoped("post_layernorm"), width: w, eps: config.layerNormEps)
    projection =
      withProjection
      ? try Linear(
        weights.scoped(CLIPWeightNames.visualProjection), inFeatures: w,
        outFeatures: config.projectionDim, bias: false) : nil
  }

  /// Whether the tower ends in its projection, so that outputs carry ``CLIPEncoderOutput/embeds``.
  public var hasProjection: Bool { projection != nil }

  /// Encodes a batch of preprocessed images.
  ///
  /// - `pixels`: `[N, C, S, S]` with `S` = ``CLIPVisionConfig/imageSize``, normalized as the
  ///   checkpoint's `preprocessor_config.json` prescribes.
  /// - Returns `lastHiddenState` `[N, 1 + patches, W]` (the last layer's output, before the
  ///   post-LayerNorm, as transformers returns it), `pooled` `[N, W]` (the post-LayerNorm class
  ///   token) and `embeds` `[N, P]` (pooled times the projection, not normalized; nil without a
  ///   projection).
  public func encode(pixels: Tensor) throws -> CLIPEncoderOutput {
    let (c, s) = (config.numChannels, config.imageSize)
    guard pixels.rank == 4, Array(pixels.shape.dropFirst()) == [c, s, s] else {
      throw CLIPError.invalidInput(
        reason: "pixel tensor \(pixels.shape); the vision encoder takes [N, \(c), \(s), \(s)]")
    }
    let n = pixels.shape[0]
    let w = config.hiddenSize
    let positions = config.positionCount
    // [N, patches, W]: patchEmbed drops the pixels past the last whole patch, like PyTorch.
    let patches = patchEmbed(pixels, weight: patchEmbedding)

    // Embeddings: [class, patch 0, patch 1, ...] plus the position table.
    let embedded = patches.scalars.withUnsafeBufferPointer { patchRows in
      classEmbedding.scalars.withUnsafeBufferPointer { classRow in
        positionEmbedding.scalars.withUnsafeBufferPointer { table in
          Tensor(uninitializedShape: [n, positions, w]) { out in
            for b in 0..<n {
              for t in 0..<positions {
                let row = out.baseAddress! + (b * positions + t) * w
                let position = table.baseAddress! + t * w
                let source =
                  t == 0 ? classRow.baseAddress! : patchRows.baseAddress! + (b * (positions - 1) + t - 1) * w
                for i in 0..<w { row[i] = source[i] + position[i] }
              }
            }
          }
        }
      }
    }
    let hidden = encoder(preLayerNorm(embedded), causal: false, keyMask: nil)

    let classTokens = hidden.scalars.withUnsafeBufferPointer { states in
      Tensor(uninitializedShape: [n, w]) { out in
        for b in 0..<n {
          (out.baseAddress! + b * w).update(from: states.baseAddress! + b * positions * w, count: w)
        }
      }
    }
    let pooled = postLayerNorm(classTokens)
    return CLIPEncoderOutput(
      lastHiddenState: hidden, pooled: pooled, embeds: projection.map { $0(pooled) })
  }
}

extension CLIPVisionConfig {
  var encoderSizes: EncoderSizes {
    EncoderSizes(
      width: hiddenSize, heads: numAttentionHeads, intermediate: intermediateSize,
      layers: numHiddenLayers, activation: hiddenAct, eps: layerNormEps)
  }
}
