// Port of transformers 4.57 `models/clip/configuration_clip.py`: the sizes of the CLIP towers, read
// from a checkpoint's config.json. Keys absent from the file take transformers' defaults (those of
// openai/clip-vit-base-patch32); invariants the model relies on are checked when decoding.

import Foundation

/// The MLP activation of a CLIP tower (`hidden_act`).
public enum CLIPActivation: String, Codable, Sendable, CaseIterable {
  /// `x * sigmoid(1.702 x)`, as OpenAI's checkpoints use.
  case quickGelu = "quick_gelu"
  /// GELU in its exact erf form, as OpenCLIP/LAION checkpoints use.
  case gelu

  public init(from decoder: Decoder) throws {
    let name = try decoder.singleValueContainer().decode(String.self)
    guard let value = CLIPActivation(rawValue: name) else {
      throw DecodingError.dataCorrupted(
        .init(
          codingPath: decoder.codingPath,
          debugDescription:
            "unsupported hidden_act '\(name)' (supported: "
            + CLIPActivation.allCases.map(\.rawValue).joined(separator: ", ") + ")"))
    }
    self = value
  }
}

/// The text tower's sizes (transformers `CLIPTextConfig`).
public struct CLIPTextConfig: Codable, Sendable, Equatable {
  /// The `model_type` of a text-only (`CLIPTextModelWithProjection`) config.json.
  public static let modelType = "clip_text_model"

  public var vocabSize: Int
  /// Width `W` of the token embedding and of every layer.
  public var hiddenSize: Int
  public var intermediateSize: Int
  /// Width `P` of the projected embedding. Inside a `CLIPModel` config the model's own
  /// ``CLIPConfig/projectionDim`` is the one that counts (see ``CLIPConfig/textTower``).
  public var projectionDim: Int
  public var numHiddenLayers: Int
  public var numAttentionHeads: Int
  /// Rows of the position table: the longest token sequence the encoder takes (77 for CLIP).
  public var maxPositionEmbeddings: Int
  public var hiddenAct: CLIPActivation
  public var layerNormEps: Double
  public var padTokenId: Int
  public var bosTokenId: Int
  /// End-of-text id; the pooled output is read at its first occurrence (see
  /// ``CLIPTextEncoder/poolingIndex(of:)`` for the legacy value 2).
  public var eosTokenId: Int

  /// A config with transformers' defaults for every size not given.
  public init(
    vocabSize: Int = 49408, hiddenSize: Int = 512, intermediateSize: Int = 2048,
    projectionDim: Int = 512, numHiddenLayers: Int = 12, numAttentionHeads: Int = 8,
    maxPositionEmbeddings: Int = 77, hiddenAct: CLIPActivation = .quickGelu,
    layerNormEps: Double = 1e-5, padTokenId: Int = 1, bosTokenId: Int = 49406,
    eosTokenId: Int = 49407
  ) {
    self.vocabSize = vocabSize
    self.hiddenSize = hiddenSize
    self.intermediateSize = intermediateSize
    self.projectionDim = projectionDim
    self.numHiddenLayers = numHiddenLayers
    self.numAttentionHeads = numAttentionHeads
    self.maxPositionEmbeddings = maxPositionEmbeddings
    self.hiddenAct = hiddenAct
    self.layerNormEps = layerNormEps
    self.padTokenId = padTokenId
    self.bosTokenId = bosTokenId
    self.eosTokenId = eosTokenId
  }

  enum CodingKeys: String, CodingKey {
    case modelType = "model_type"
    case vocabSize = "vocab_size"
    case hiddenSize = "hidden_size"
    case intermediateSize = "intermediate_size"
    case projectionDim = "projection_dim"
    case numHiddenLayers = "num_hidden_layers"
    case numAttentionHeads = "num_attention_heads"
    case maxPositionEmbeddings = "max_position_embeddings"
    case hiddenAct = "hidden_act"
    case layerNormEps = "layer_norm_eps"
    case padTokenId = "pad_token_id"
    case bosTokenId = "bos_token_id"
    case eosTokenId = "eos_token_id"
  }

  public init(from decoder: Decoder) throws {
    let c = try decoder.container(keyedBy: CodingKeys.self)
    let d = CLIPTextConfig()
    // decodeIfPresent also maps an explicit null (old configs write many) to the default.
    self.init(
      vocabSize: try c.decodeIfPresent(Int.self, forKey: .vocabSize) ?? d.vocabSize,
      hiddenSize: try c.decodeIfPresent(Int.self, forKey: .hiddenSize) ?? d.hiddenSize,
      intermediateSize: try c.decodeIfPresent(Int.self, forKey: .intermediateSize)
        ?? d.intermediateSize,
      projectionDim: try c.decodeIfPresent(Int.self, forKey: .projectionDim) ?? d.projectionDim,
      numHiddenLayers: try c.decodeIfPresent(Int.self, forKey: .numHiddenLayers)
        ?? d.numHiddenLayers,
      numAttentionHeads: try c.decodeIfPresent(Int.self, forKey: .numAttentionHeads)
        ?? d.numAttentionHeads,
      maxPositionEmbeddings: try c.decodeIfPresent(Int.self, forKey: .maxPositionEmbeddings)
        ?? d.maxPositionEmbeddings,
      hiddenAct: try c.decodeIfPresent(CLIPActivation.self, forKey: .hiddenAct) ?? d.hiddenAct,
      layerNormEps: try c.decodeIfPresent(Double.self, forKey: .layerNormEps) ?? d.layerNormEps,
      padTokenId: try c.decodeIfPresent(Int.self, forKey: .padTokenId) ?? d.padTokenId,
      bosTokenId: try c.decodeIfPresent(Int.self, forKey: .bosTokenId) ?? d.bosTokenId,
      eosTokenId: try c.decodeIfPresent(Int.self, forKey: .eosTokenId) ?? d.eosTokenId)
    if let problem = invariantViolation {
      throw DecodingError.dataCorrupted(.init(codingPath: c.codingPath, debugDescription: problem))
    }
  }

  public func encode(to encoder: Encoder) throws {
    var c = encoder.container(keyedBy: CodingKeys.self)
    try c.encode(Self.modelType, forKey: .modelType)
    try c.encode(vocabSize, forKey: .vocabSize)
    try c.encode(hiddenSize, forKey: .hiddenSize)
    try c.encode(intermediateSize, forKey: .intermediateSize)
    try c.encode(projectionDim, forKey: .projectionDim)
    try c.encode(numHiddenLayers, forKey: .numHiddenLayers)
    try c.encode(numAttentionHeads, forKey: .numAttentionHeads)
    try c.encode(maxPositionEmbeddings, forKey: .maxPositionEmbeddings)
    try c.encode(hiddenAct, forKey: .hiddenAct)
    try c.encode(layerNormEps, forKey: .layerNormEps)
    try c.encode(padTokenId, forKey: .padTokenId)
    try c.encode(bosTokenId, forKey: .bosTokenId)
    try c.encode(eosTokenId, forKey: .eosTokenId)
  }

  /// The first invariant this config breaks, as a message naming the keys, or nil.
  package var invariantViolation: String? {
    if let problem = firstNonPositive([
      ("vocab_size", vocabSize), ("hidden_size", hiddenSize),
      ("intermediate_size", intermediateSize), ("projection_dim", projectionDim),
      ("num_attention_heads", numAttentionHeads),
      ("max_position_embeddings", maxPositionEmbeddings),
    ]) {
      return problem
    }
    return commonViolation(
      layers: numHiddenLayers, width: hiddenSize, heads: numAttentionHeads, eps: layerNormEps)
  }
}

/// The vision tower's sizes (transformers `CLIPVisionConfig`).
public struct CLIPVisionConfig: Codable, Sendable, Equatable {
  /// The `model_type` of a vision-only (`CLIPVisionModelWithProjection`) config.json.
  public static let modelType = "clip_vision_model"

  /// Width `W` of the patch embedding and of every layer.
  public var hiddenSize: Int
  public var intermediateSize: Int
  /// Width `P` of the projected embedding. Inside a `CLIPModel` config the model's own
  /// ``CLIPConfig/projectionDim`` is the one that counts (see ``CLIPConfig/visionTower``).
  public var projectionDim: Int
  public var numHiddenLayers: Int
  public var numAttentionHeads: Int
  public var numChannels: Int
  /// Side of the square input image in pixels.
  public var imageSize: Int
  /// Side of a square patch; pixels past the last whole patch are ignored, as in PyTorch's
  /// strided convolution.
  public var patchSize: Int
  public var hiddenAct: CLIPActivation
  public var layerNormEps: Double

  /// A config with transformers' defaults for every size not given.
  public init(
    hiddenSize: Int = 768, intermediateSize: Int = 3072, projectionDim: Int = 512,
    numHiddenLayers: Int = 12, numAttentionHeads: Int = 12, numChannels: Int = 3,
    imageSize: Int = 224, patchSize: Int = 32, hiddenAct: CLIPActivation = .quickGelu,
    layerNormEps: Double = 1e-5
  ) {
    self.hiddenSize = hiddenSize
    self.intermediateSize = intermediateSize
    self.projectionDim = projectionDim
    self.numHiddenLayers = numHiddenLayers
    self.numAttentionHeads = numAttentionHeads
    self.numChannels = numChannels
    self.imageSize = imageSize
    self.patchSize = patchSize
    self.hiddenAct = hiddenAct
    self.layerNormEps = layerNormEps
  }

  /// Patches along each side of the image.
  public var patchesPerSide: Int { imageSize / patchSize }
  /// Positions of the transformer: the class token and one per patch.
  public var positionCount: Int { 1 + patchesPerSide * patchesPerSide }

  enum CodingKeys: String, CodingKey {
    case modelType = "model_type"
    case hiddenSize = "hidden_size"
    case intermediateSize = "intermediate_size"
    case projectionDim = "projection_dim"
    case numHiddenLayers = "num_hidden_layers"
    case numAttentionHeads = "num_attention_heads"
    case numChannels = "num_channels"
    case imageSize = "image_size"
    case patchSize = "patch_size"
    case hiddenAct = "hidden_act"
    case layerNormEps = "layer_norm_eps"
  }

  public init(from decoder: Decoder) throws {
    let c = try decoder.container(keyedBy: CodingKeys.self)
    let d = CLIPVisionConfig()
    self.init(
      hiddenSize: try c.decodeIfPresent(Int.self, forKey: .hiddenSize) ?? d.hiddenSize,
      intermediateSize: try c.decodeIfPresent(Int.self, forKey: .intermediateSize)
        ?? d.intermediateSize,
      projectionDim: try c.decodeIfPresent(Int.self, forKey: .projectionDim) ?? d.projectionDim,
      numHiddenLayers: try c.decodeIfPresent(Int.self, forKey: .numHiddenLayers)
        ?? d.numHiddenLayers,
      numAttentionHeads: try c.decodeIfPresent(Int.self, forKey: .numAttentionHeads)
        ?? d.numAttentionHeads,
      numChannels: try c.decodeIfPresent(Int.self, forKey: .numChannels) ?? d.numChannels,
      imageSize: try c.decodeIfPresent(Int.self, forKey: .imageSize) ?? d.imageSize,
      patchSize: try c.decodeIfPresent(Int.self, forKey: .patchSize) ?? d.patchSize,
      hiddenAct: try c.decodeIfPresent(CLIPActivation.self, forKey: .hiddenAct) ?? d.hiddenAct,
      layerNormEps: try c.decodeIfPresent(Double.self, forKey: .layerNormEps) ?? d.layerNormEps)
    if let problem = invariantViolation {
      throw DecodingError.dataCorrupted(.init(codingPath: c.codingPath, debugDescription: problem))
    }
  }

  public func encode(to encoder: Encoder) throws {
    var c = encoder.container(keyedBy: CodingKeys.self)
    try c.encode(Self.modelType, forKey: .modelType)
    try c.encode(hiddenSize, forKey: .hiddenSize)
    try c.encode(intermediateSize, forKey: .intermediateSize)
    try c.encode(projectionDim, forKey: .projectionDim)
    try c.encode(numHiddenLayers, forKey: .numHiddenLayers)
    try c.encode(numAttentionHeads, forKey: .numAttentionHeads)
    try c.encode(numChannels, forKey: .numChannels)
    try c.encode(imageSize, forKey: .imageSize)
    try c.encode(patchSize, forKey: .patchSize)
    try c.encode(hiddenAct, forKey: .hiddenAct)
    try c.encode(layerNormEps, forKey: .layerNormEps)
  }

  /// The first invariant this config breaks, as a message naming the keys, or nil.
  package var invariantViolation: String? {
    if let problem = firstNonPositive([
      ("hidden_size", hiddenSize), ("intermediate_size", intermediateSize),
      ("projection_dim", projectionDim), ("num_attention_heads", numAttentionHeads),
      ("num_channels", numChannels), ("image_size", imageSize), ("patch_size", patchSize),
    ]) {
      return problem
    }
    if patchSize > imageSize {
      return "patch_size \(patchSize) is larger than image_size \(imageSize)"
    }
    return commonViolation(
      layers: numHiddenLayers, width: hiddenSize, heads: numAttentionHeads, eps: layerNormEps)
  }
}

/// A dual-encoder checkpoint's config (transformers `CLIPConfig`, `model_type` "clip").
public struct CLIPConfig: Codable, Sendable, Equatable {
  /// The `model_type` of a `CLIPModel` config.json.
  public static let modelType = "clip"

  public var textConfig: CLIPTextConfig
  public var visionConfig: CLIPVisionConfig
  /// Width `P` of both projections. `CLIPModel` reads this one; the sub-configs'
  /// `projection_dim` (often left at its default) is ignored, as in transformers.
  public var projectionDim: Int

  public init(
    textConfig: CLIPTextConfig = CLIPTextConfig(),
    visionConfig: CLIPVisionConfig = CLIPVisionConfig(), projectionDim: Int = 512
  ) {
    self.textConfig = textConfig
    self.visionConfig = visionConfig
    self.projectionDim = projectionDim
  }

  /// The text tower as this model builds it: ``textConfig`` with the model's projection width.
  public var textTower: CLIPTextConfig {
    var tower = textConfig
    tower.projectionDim = projectionDim
    return tower
  }

  /// The vision tower as this model builds it: ``visionConfig`` with the model's projection width.
  public var visionTower: CLIPVisionConfig {
    var tower = visionConfig
    tower.projectionDim = projectionDim
    return tower
  }

  enum CodingKeys: String, CodingKey {
    case modelType = "model_type"
    case textConfig = "text_config"
    case visionConfig = "vision_config"
    case projectionDim = "projection_dim"
    // Configs written before transformers 4.26 may carry these; when present they replace the
    // plain sub-configs entirely (transformers rebuilds them from the *_dict with defaults).
    case textConfigDict = "text_config_dict"
    case visionConfigDict = "vision_config_dict"
  }

  public init(from decoder: Decoder) throws {
    let c = try decoder.container(keyedBy: CodingKeys.self)
    let text =
      try c.decodeIfPresent(CLIPTextConfig.self, forKey: .textConfigDict)
      ?? c.decodeIfPresent(CLIPTextConfig.self, forKey: .textConfig) ?? CLIPTextConfig()
    let vision =
      try c.decodeIfPresent(CLIPVisionConfig.self, forKey: .visionConfigDict)
      ?? c.decodeIfPresent(CLIPVisionConfig.self, forKey: .visionConfig) ?? CLIPVisionConfig()
    let projection =
      try c.decodeIfPresent(Int.self, forKey: .projectionDim) ?? CLIPConfig().projectionDim
    self.init(textConfig: text, visionConfig: vision, projectionDim: projection)
    if let problem = firstNonPositive([("projection_dim", projectionDim)]) {
      throw DecodingError.dataCorrupted(.init(codingPath: c.codingPath, debugDescription: problem))
    }
  }

  public func encode(to encoder: Encoder) throws {
    var c = encoder.container(keyedBy: CodingKeys.self)
    try c.encode(Self.modelType, forKey: .modelType)
    try c.encode(textConfig, forKey: .textConfig)
    try c.encode(visionConfig, forKey: .visionConfig)
    try c.encode(projectionDim, forKey: .projectionDim)
  }
}

private func firstNonPositive(_ sizes: [(key: String, value: Int)]) -> String? {
  sizes.first { $0.value < 1 }.map { "\($0.key) must be positive, got \($0.value)" }
}

/// Invariants shared by both towers: the attention splits the width evenly into heads.
private func commonViolation(layers: Int, width: Int, heads: Int, eps: Double) -> String? {
  if layers < 0 { return "num_hidden_layers must not be negative, got \(layers)" }
  if width % heads != 0 {
    return "num_attention_heads \(heads) does not divide hidden_size \(width)"
  }
  if !(eps > 0 && eps.isFinite) { return "layer_norm_eps must be positive, got \(eps)" }
  return nil
}
