// Loading CLIP checkpoints in the layout transformers' `save_pretrained` writes (config.json plus
// model.safetensors or a sharded index) for `CLIPModel`, `CLIPTextModel(WithProjection)` and
// `CLIPVisionModel(WithProjection)`; port of the loading side of transformers 4.57
// `models/clip/modeling_clip.py`.

import Core
import Foundation

/// What one CLIP tower returns for a batch.
public struct CLIPEncoderOutput: Sendable {
  /// `[N, T, W]` for text (after the final LayerNorm); `[N, 1 + patches, W]` for images (before
  /// the post-LayerNorm). transformers' `last_hidden_state`.
  public var lastHiddenState: Tensor
  /// `[N, W]`: the end-of-text state for text, the post-LayerNorm class token for images.
  /// transformers' `pooler_output`.
  public var pooled: Tensor
  /// `[N, P]`: `pooled` times the projection, not normalized. transformers' `text_embeds` /
  /// `image_embeds` of the WithProjection models, `get_text_features` / `get_image_features`.
  /// Nil for a tower without a projection (`CLIPTextModel`, `CLIPVisionModel`).
  public var embeds: Tensor?

  public init(lastHiddenState: Tensor, pooled: Tensor, embeds: Tensor?) {
    self.lastHiddenState = lastHiddenState
    self.pooled = pooled
    self.embeds = embeds
  }
}

/// Checkpoint names that are not per-layer: the towers' roots and the tensors inference skips.
enum CLIPWeightNames {
  static let textModel = "text_model"
  static let textProjection = "text_projection"
  static let visionModel = "vision_model"
  static let visualProjection = "visual_projection"

  /// Key prefixes of each tower, for loading one tower from a dual-encoder checkpoint.
  static let textTower = [textModel + ".", textProjection + "."]
  static let visionTower = [visionModel + ".", visualProjection + "."]

  /// Tensors a checkpoint may hold that encoding never reads: the contrastive temperature and
  /// the `position_ids` buffers that older transformers versions saved (always 0..<positions).
  static let ignored = [
    "logit_scale",
    textModel + ".embeddings.position_ids",
    visionModel + ".embeddings.position_ids",
  ]
}

/// Whether a one-tower checkpoint's tower ends in its projection, as config.json's `architectures`
/// (the transformers class that saved it) says. transformers gives `CLIPTextModel` and
/// `CLIPTextModelWithProjection` one `model_type` (and the vision classes another), so the
/// `model_type` alone cannot tell.
public enum CLIPTowerArchitecture: String, Sendable, Equatable {
  /// `CLIPTextModelWithProjection` / `CLIPVisionModelWithProjection`: the projection tensor must
  /// be there.
  case withProjection
  /// `CLIPTextModel` / `CLIPVisionModel` (Stable Diffusion's text encoder, LLaVA-style vision
  /// towers): pooled output and hidden states, no embeddings; a projection tensor in the weights
  /// is unused, hence an error, as transformers would not load it either.
  case withoutProjection
  /// No `architectures` (absent, null or empty, as in hand-written configs): the weights decide,
  /// by whether they hold the projection tensor.
  case unspecified

  /// The class names of each tower that config.json's `architectures` may hold.
  static let textClasses: [String: Self] = [
    "CLIPTextModelWithProjection": .withProjection, "CLIPTextModel": .withoutProjection,
  ]
  static let visionClasses: [String: Self] = [
    "CLIPVisionModelWithProjection": .withProjection, "CLIPVisionModel": .withoutProjection,
  ]

  /// What `architectures` in `data` says, looked up in `classes`. transformers writes the one
  /// class that saved the checkpoint; a first entry naming another class is an error.
  fileprivate static func decode(_ data: Data, classes: [String: Self]) throws -> Self {
    let names = try JSONDecoder().decode(ArchitecturesField.self, from: data).architectures ?? []
    guard let name = names.first else { return .unspecified }
    guard let architecture = classes[name] else {
      throw DecodingError.dataCorrupted(
        .init(
          codingPath: [ArchitecturesField.CodingKeys.architectures],
          debugDescription:
            "'\(name)' is not a class of this tower (known: "
            + classes.keys.sorted().joined(separator: ", ") + ")"))
    }
    return architecture
  }

  private struct ArchitecturesField: Decodable {
    let architectures: [String]?
    enum CodingKeys: String, CodingKey { case architectures }
  }
}

/// A checkpoint's config.json, told apart by its `model_type` (and, for one tower, by its
/// `architectures`).
public enum CLIPCheckpointConfig: Sendable, Equatable {
  /// `CLIPModel`: both towers, sharing the model's `projection_dim`, both with their projection.
  case clip(CLIPConfig)
  /// `CLIPTextModelWithProjection` or `CLIPTextModel`: the text tower only.
  case text(CLIPTextConfig, CLIPTowerArchitecture)
  /// `CLIPVisionModelWithProjection` or `CLIPVisionModel`: the vision tower only.
  case vision(CLIPVisionConfig, CLIPTowerArchitecture)

  /// The decoders of the config.json layouts this module reads, by `model_type`.
  static let registry: [String: @Sendable (Data) throws -> CLIPCheckpointConfig] = [
    CLIPConfig.modelType: { .clip(try JSONDecoder().decode(CLIPConfig.self, from: $0)) },
    CLIPTextConfig.modelType: {
      .text(
        try JSONDecoder().decode(CLIPTextConfig.self, from: $0),
        try .decode($0, classes: CLIPTowerArchitecture.textClasses))
    },
    CLIPVisionConfig.modelType: {
      .vision(
        try JSONDecoder().decode(CLIPVisionConfig.self, from: $0),
        try .decode($0, classes: CLIPTowerArchitecture.visionClasses))
    },
  ]

  /// The config file's name inside a checkpoint directory.
  public static let fileName = "config.json"

  /// The config's `model_type`.
  public var modelType: String {
    switch self {
    case .clip: CLIPConfig.modelType
    case .text: CLIPTextConfig.modelType
    case .vision: CLIPVisionConfig.modelType
    }
  }

  /// The text tower as the checkpoint's weights are shaped, or nil if it has none.
  public var textTower: CLIPTextConfig? {
    switch self {
    case .clip(let config): config.textTower
    case .text(let config, _): config
    case .vision: nil
    }
  }

  /// The vision tower as the checkpoint's weights are shaped, or nil if it has none.
  public var visionTower: CLIPVisionConfig? {
    switch self {
    case .clip(let config): config.visionTower
    case .text: nil
    case .vision(let config, _): config
    }
  }

  /// Whether the checkpoint's towers end in their projections (`CLIPModel`'s always do).
  public var architecture: CLIPTowerArchitecture {
    switch self {
    case .clip: .withProjection
    case .text(_, let architecture), .vision(_, let architecture): architecture
    }
  }

  /// Reads and validates `directory/config.json`.
  ///
  /// Throws ``CLIPError/missingFile(path:)``, ``CLIPError/invalidConfig(path:reason:)`` (bad
  /// JSON, wrong value types, impossible sizes, an `architectures` class of another tower) or
  /// ``CLIPError/unknownModelType(path:modelType:known:)``.
  public static func load(directory: String) throws -> CLIPCheckpointConfig {
    let path = (directory as NSString).appendingPathComponent(fileName)
    guard FileManager.default.fileExists(atPath: path) else {
      throw CLIPError.missingFile(path: path)
    }
    let data: Data
    do { data = try Data(contentsOf: URL(fileURLWithPath: path)) } catch {
      throw CLIPError.invalidConfig(path: path, reason: "unreadable: \(describe(error))")
    }
    do {
      let header = try JSONDecoder().decode(ModelTypeField.self, from: data)
      guard let modelType = header.modelType else {
        throw CLIPError.invalidConfig(path: path, reason: "no model_type")
      }
      guard let decode = registry[modelType] else {
        throw CLIPError.unknownModelType(
          path: path, modelType: modelType, known: registry.keys.sorted())
      }
      return try decode(data)
    } catch let error as DecodingError {
      throw CLIPError.invalidConfig(path: path, reason: decodingFailure(error))
    }
  }

  /// Whether a tower of this checkpoint has its projection, given the reader scoped to the
  /// projection module (`text_projection`, `visual_projection`): as ``architecture`` says, or,
  /// when config.json names no class, whether the weights hold the projection's tensor. Either
  /// way an inconsistent checkpoint then fails loading: a WithProjection class without the
  /// tensor on the missing tensor, a plain class with it on the unused one.
  fileprivate func hasProjection(_ projection: WeightReader) -> Bool {
    switch architecture {
    case .withProjection: true
    case .withoutProjection: false
    case .unspecified: projection.contains("weight")
    }
  }

  /// The prefixes of tensors a checkpoint of this kind may hold that loading `tower` leaves
  /// unread: the ignored buffers, plus the other tower of a dual-encoder checkpoint.
  fileprivate func unreadPrefixes(loading tower: [String]) -> [String] {
    guard case .clip = self else { return CLIPWeightNames.ignored }
    let other =
      tower == CLIPWeightNames.textTower ? CLIPWeightNames.visionTower : CLIPWeightNames.textTower
    return CLIPWeightNames.ignored + other
  }

  private struct ModelTypeField: Decodable {
    let modelType: String?
    enum CodingKeys: String, CodingKey { case modelType = "model_type" }
  }
}

/// CLIP's two towers loaded from one `CLIPModel` checkpoint.
public struct CLIPModel: Sendable {
  public let config: CLIPConfig
  public let text: CLIPTextEncoder
  public let vision: CLIPVisionEncoder

  /// Loads both towers from a `CLIPModel` checkpoint directory, strictly: every tensor must be
  /// present with the configured shape, and none may be left over except the buffers inference
  /// never reads (`logit_scale`, the `position_ids` that older transformers versions saved).
  /// Float16 and BFloat16 weights are widened to Float32.
  ///
  /// Throws ``CLIPError`` for config problems (or a one-tower checkpoint) and ``WeightError``
  /// for weight-file problems; both name the file.
  public static func load(directory: String) throws -> CLIPModel {
    let checkpoint = try CLIPCheckpointConfig.load(directory: directory)
    guard case .clip(let config) = checkpoint else {
      throw CLIPError.missingTower(
        path: configPath(directory), modelType: checkpoint.modelType,
        tower: checkpoint.textTower == nil ? "text" : "vision")
    }
    let weights = WeightReader(try Checkpoint(path: directory))
    let model = CLIPModel(
      config: config,
      text: try CLIPTextEncoder(config: config.textTower, weights: weights),
      vision: try CLIPVisionEncoder(config: config.visionTower, weights: weights))
    try weights.verifyAllUsed(except: CLIPWeightNames.ignored)
    return model
  }
}

extension CLIPTextEncoder {
  /// Loads the text tower from a `CLIPModel`, `CLIPTextModelWithProjection` or `CLIPTextModel`
  /// checkpoint directory, strictly (a dual-encoder checkpoint's vision tensors are left
  /// unread). Whether the tower has its projection follows config.json's `architectures` (see
  /// ``CLIPTowerArchitecture``); ``hasProjection`` says which.
  ///
  /// Throws ``CLIPError`` for config problems (or a vision-only checkpoint) and ``WeightError``
  /// for weight-file problems; both name the file.
  public static func load(directory: String) throws -> CLIPTextEncoder {
    let checkpoint = try CLIPCheckpointConfig.load(directory: directory)
    guard let config = checkpoint.textTower else {
      throw CLIPError.missingTower(
        path: configPath(directory), modelType: checkpoint.modelType, tower: "text")
    }
    let weights = WeightReader(try Checkpoint(path: directory))
    let encoder = try CLIPTextEncoder(
      config: config, weights: weights,
      withProjection: checkpoint.hasProjection(weights.scoped(CLIPWeightNames.textProjection)))
    try weights.verifyAllUsed(
      except: checkpoint.unreadPrefixes(loading: CLIPWeightNames.textTower))
    return encoder
  }
}

extension CLIPVisionEncoder {
  /// Loads the vision tower from a `CLIPModel`, `CLIPVisionModelWithProjection` or
  /// `CLIPVisionModel` checkpoint directory, strictly (a dual-encoder checkpoint's text tensors
  /// are left unread). Whether the tower has its projection follows config.json's
  /// `architectures` (see ``CLIPTowerArchitecture``); ``hasProjection`` says which.
  ///
  /// Throws ``CLIPError`` for config problems (or a text-only checkpoint) and ``WeightError``
  /// for weight-file problems; both name the file.
  public static func load(directory: String) throws -> CLIPVisionEncoder {
    let checkpoint = try CLIPCheckpointConfig.load(directory: directory)
    guard let config = checkpoint.visionTower else {
      throw CLIPError.missingTower(
        path: configPath(directory), modelType: checkpoint.modelType, tower: "vision")
    }
    let weights = WeightReader(try Checkpoint(path: directory))
    let encoder = try CLIPVisionEncoder(
      config: config, weights: weights,
      withProjection: checkpoint.hasProjection(weights.scoped(CLIPWeightNames.visualProjection)))
    try weights.verifyAllUsed(
      except: checkpoint.unreadPrefixes(loading: CLIPWeightNames.visionTower))
    return encoder
  }
}

private func configPath(_ directory: String) -> String {
  (directory as NSString).appendingPathComponent(CLIPCheckpointConfig.fileName)
}

/// One line saying where in config.json decoding failed and why.
private func decodingFailure(_ error: DecodingError) -> String {
  func location(_ context: DecodingError.Context) -> String {
    let path = context.codingPath.map(\.stringValue).joined(separator: ".")
    return path.isEmpty ? "" : "\(path): "
  }
  switch error {
  case .dataCorrupted(let context) where context.underlyingError != nil:
    // The JSON parser's own error: the syntax, not a value, is wrong.
    let detail = (context.underlyingError as NSError?)?.userInfo[NSDebugDescriptionErrorKey]
    return "not valid JSON" + (detail.map { " (\($0))" } ?? "")
  case .dataCorrupted(let context):
    return location(context) + context.debugDescription
  case .typeMismatch(let type, let context), .valueNotFound(let type, let context):
    return location(context) + "expected a value of type \(type)"
  case .keyNotFound(let key, let context):
    return location(context) + "missing key \(key.stringValue)"
  @unknown default:
    return String(describing: error)
  }
}
