// Released Long-CLIP checkpoints (beichenzbc/Long-CLIP `model/model_longclip.py`, `build_model`
// and `CLIP.encode_text`; spec A1, A4): a torch.save'd OpenAI-CLIP state dict with two text
// position tables, read with Core's TorchArchive and converted to the Hugging Face CLIPModel
// layout that transformers' `convert_clip_original_pytorch_to_hf.py` produces for OpenAI CLIP.

import Core
import Foundation

/// Why a `.pt` file is not a Long-CLIP checkpoint this converter reads.
///
/// Missing tensors, wrong shapes and left-over tensors are Core's ``WeightError``; these cases
/// are about what the tensors mean. Every case names the file.
public enum LongCLIPError: Error, Equatable, LocalizedError {
  /// The state dict lacks `positional_embedding_res`, the trained text position table.
  case missingTrainedPositions(path: String)
  /// The state dict is an OpenAI-CLIP layout this converter does not handle (a ResNet image
  /// tower, say).
  case unsupported(path: String, reason: String)
  /// The tensors' shapes contradict one another (a width that heads of the given size do not
  /// divide, a non-square patch grid, towers with different projection widths, ...).
  case inconsistent(path: String, reason: String)
  /// The tokenizer handed to the converter does not fit the checkpoint.
  case tokenizerMismatch(path: String, reason: String)

  public var errorDescription: String? {
    switch self {
    case .missingTrainedPositions(let path):
      "\(path): no positional_embedding_res, so not a Long-CLIP checkpoint (its trained text "
        + "positions are missing); for a stretched table on a CLIP checkpoint use "
        + "`mmencode text --stretch`"
    case .unsupported(let path, let reason): "\(path): unsupported checkpoint: \(reason)"
    case .inconsistent(let path, let reason): "\(path): inconsistent checkpoint: \(reason)"
    case .tokenizerMismatch(let path, let reason): "\(path): tokenizer does not fit: \(reason)"
    }
  }
}

/// How the two text position tables of a Long-CLIP checkpoint relate (spec A4).
///
/// Fine-tuning starts both tables as the stretched CLIP table, freezes `positional_embedding`
/// and trains `positional_embedding_res`; the forward pass takes the first ``keptRows`` rows from
/// the frozen table and the rest from the trained one.
public struct PositionTableReport: Sendable, Equatable {
  /// Rows taken from `positional_embedding`; the rest come from `positional_embedding_res`.
  public var keptRows: Int
  /// Rows of each table.
  public var positions: Int
  /// The first row at which the two tables differ at all, or nil when they are identical.
  public var firstDifferingRow: Int?
  /// Rows at or after ``keptRows`` where the two tables differ. Zero means the trained table is
  /// still the untrained stretch: the checkpoint (or the tool that made it) lost the training.
  public var trainedRowCount: Int

  /// Whether the rows the model reads from `positional_embedding_res` were never trained.
  public var isUntrained: Bool { trainedRowCount == 0 }
}

/// A Long-CLIP checkpoint: an OpenAI-CLIP ViT state dict with both `positional_embedding` and
/// `positional_embedding_res`, as the released `longclip-B.pt` / `longclip-L.pt` hold it.
///
/// Opening reads the archive's index and the two position tables, infers the model's sizes from
/// tensor shapes as OpenAI's `build_model` does, and checks every tensor against one name table
/// (``conversionTable``): each one must be there with the shape the sizes imply, and none may be
/// left over. Nothing else is read until ``writeHuggingFaceDirectory(_:tokenizerDirectory:)``.
public struct LongCLIPCheckpoint: Sendable {
  /// The width of one attention head in every OpenAI CLIP and Long-CLIP ViT (`build_model`
  /// computes heads as width / 64).
  public static let openAIHeadWidth = 64
  /// Entries an OpenAI state dict may carry that are not weights (`build_model` drops them).
  static let nonWeightEntries = ["input_resolution", "context_length", "vocab_size"]
  static let frozenPositions = "positional_embedding"
  static let trainedPositions = "positional_embedding_res"

  /// The `.pt` file.
  public let path: String
  /// The model as transformers' CLIPModel describes it; the text tower has one position per row
  /// of the checkpoint's tables, and its token ids are CLIP's (a converted directory's config
  /// takes them from the tokenizer).
  public let config: CLIPConfig
  public let positionReport: PositionTableReport
  /// Every converted tensor: its Hugging Face name, how it is made, and its shape.
  public let conversionTable: [ConvertedTensor]
  private let archive: TorchArchive

  /// Opens and checks `path`.
  ///
  /// - `headWidth`: the width of one attention head; heads are each tower's width divided by it.
  /// - `keptRows`: the rows of the effective text position table taken from
  ///   `positional_embedding` (Long-CLIP's 20, the kept rows of its stretch).
  ///
  /// Throws ``WeightError`` for an unreadable file, a missing, misshapen or unused tensor, and
  /// ``LongCLIPError`` for a checkpoint that is not Long-CLIP or not consistent.
  public init(
    path: String, headWidth: Int = Self.openAIHeadWidth,
    keptRows: Int = PositionStretch.defaultKeptRows
  ) throws {
    let archive = try TorchArchive(path: path)
    let shapes = Dictionary(
      uniqueKeysWithValues: try archive.names.map { ($0, try archive.shape(of: $0)) })
    (config, conversionTable) = try Self.plan(
      shapes: shapes, path: path, headWidth: headWidth, keptRows: keptRows)
    positionReport = try Self.comparePositionTables(archive, keptRows: keptRows)
    self.path = path
    self.archive = archive
  }

  /// The model's sizes and the name table for a state dict with these tensor shapes, checked as
  /// ``init(path:headWidth:keptRows:)`` describes; `path` is for errors.
  package static func plan(
    shapes: [String: [Int]], path: String, headWidth: Int, keptRows: Int
  ) throws -> (CLIPConfig, [ConvertedTensor]) {
    let config = try inferConfig(shapes, path: path, headWidth: headWidth)
    guard shapes[trainedPositions] != nil else {
      throw LongCLIPError.missingTrainedPositions(path: path)
    }
    let positions = config.textConfig.maxPositionEmbeddings
    guard (0...positions).contains(keptRows) else {
      throw LongCLIPError.inconsistent(
        path: path, reason: "\(keptRows) kept position rows, but the tables have \(positions) rows")
    }
    let table = table(for: config, keptRows: keptRows)
    try verify(table, against: shapes, path: path)
    return (config, table)
  }

  // MARK: conversion

  /// How one Hugging Face tensor is made from the state dict.
  public enum Derivation: Sendable, Equatable {
    /// The named tensor as it is.
    case copy(String)
    /// The transpose of the named 2-D tensor: OpenAI stores projections as `[in, out]` for
    /// `x @ proj`, transformers as `nn.Linear` weights `[out, in]`.
    case transpose(String)
    /// Part `index` of `count` equal slices along the first axis: `nn.MultiheadAttention` stores
    /// the query, key and value projections stacked in one `in_proj` tensor.
    case slice(String, index: Int, count: Int)
    /// Spec A4: rows `0..<keptRows` of `positional_embedding`, the rest from
    /// `positional_embedding_res`.
    case effectivePositions(keptRows: Int)
  }

  /// One row of the name table.
  public struct ConvertedTensor: Sendable, Equatable {
    /// The tensor's name in a transformers `CLIPModel` checkpoint.
    public var name: String
    public var derivation: Derivation
    /// The converted tensor's shape.
    public var shape: [Int]
  }

  /// The tensor `entry` describes, read from the archive and converted.
  public func tensor(_ entry: ConvertedTensor) throws -> Tensor {
    switch entry.derivation {
    case .copy(let source):
      return try archive.tensor(source)
    case .transpose(let source):
      return try archive.tensor(source).transposed()
    case .slice(let source, let index, let count):
      let fused = try archive.tensor(source)
      let rows = fused.shape[0] / count
      return fused.rows((index * rows)..<((index + 1) * rows))
    case .effectivePositions(let kept):
      let frozen = try archive.tensor(Self.frozenPositions)
      let trained = try archive.tensor(Self.trainedPositions)
      return Tensor.concatenate(
        [frozen.rows(0..<kept), trained.rows(kept..<trained.shape[0])])
    }
  }

  /// The effective text position table `[positions, W]` (spec A4).
  public func effectivePositionTable() throws -> Tensor {
    try tensor(
      conversionTable.first { if case .effectivePositions = $0.derivation { true } else { false } }!)
  }

  /// Writes a transformers `CLIPModel` directory that mmencode and transformers both load:
  /// `config.json` (the text tower with one position per table row), `model.safetensors`
  /// (float32, as the released checkpoints store their weights), `vocab.json` and `merges.txt`
  /// copied from `tokenizerDirectory`, `tokenizer_config.json` whose `model_max_length` is the
  /// text context, `special_tokens_map.json`, and a `preprocessor_config.json` for the image size.
  ///
  /// Long-CLIP checkpoints hold no tokenizer; they use CLIP's, which every OpenAI CLIP checkpoint
  /// directory has. The tokenizer's vocabulary must have one row per token embedding row. The
  /// directory appears whole or not at all; an existing non-empty directory is never replaced.
  /// The converted tensors are held in memory while the file is written.
  public func writeHuggingFaceDirectory(_ directory: String, tokenizerDirectory: String) throws {
    let tokenizer = try CLIPTokenizer(directory: tokenizerDirectory)
    let vocabulary = (tokenizerDirectory as NSString).appendingPathComponent(
      CLIPTokenizer.vocabularyFileName)
    guard tokenizer.vocabularySize == config.textConfig.vocabSize else {
      throw LongCLIPError.tokenizerMismatch(
        path: vocabulary,
        reason: "\(tokenizer.vocabularySize) tokens, but \(path) embeds "
          + "\(config.textConfig.vocabSize)")
    }
    var converted = config
    converted.textConfig.bosTokenId = tokenizer.startOfTextID
    converted.textConfig.eosTokenId = tokenizer.endOfTextID

    let arrays = try conversionTable.map { NamedArray($0.name, try tensor($0)) }
    let files: [(name: String, contents: Data)] = [
      (CLIPCheckpointConfig.fileName, try HuggingFaceFiles.config(converted)),
      (HuggingFaceFiles.tokenizerConfigFileName,
        try HuggingFaceFiles.tokenizerConfig(
          tokenizer, contextLength: converted.textConfig.maxPositionEmbeddings)),
      (HuggingFaceFiles.specialTokensFileName, try HuggingFaceFiles.specialTokensMap()),
      (HuggingFaceFiles.preprocessorFileName,
        try HuggingFaceFiles.preprocessorConfig(imageSize: converted.visionConfig.imageSize)),
    ]
    let copied = [CLIPTokenizer.vocabularyFileName, CLIPTokenizer.mergesFileName]
    let metadata = [
      "format": "pt",
      "mmencode.converted_from": (path as NSString).lastPathComponent,
      "mmencode.converted_from.sha256": try sha256(file: path),
      "mmencode.kept_positions": String(positionReport.keptRows),
    ]
    try writeDirectoryAtomically(directory, replacing: { _ in false }) { staging in
      try writeSafeTensors(
        arrays, metadata: metadata,
        to: (staging as NSString).appendingPathComponent(Checkpoint.singleFileName))
      for file in files {
        try writeAtomically(file.contents, to: (staging as NSString).appendingPathComponent(file.name))
      }
      for name in copied {
        let source = (tokenizerDirectory as NSString).appendingPathComponent(name)
        let data: Data
        do { data = try Data(contentsOf: URL(fileURLWithPath: source)) } catch {
          throw TokenizerError.unreadable(path: source, reason: error.localizedDescription)
        }
        try writeAtomically(data, to: (staging as NSString).appendingPathComponent(name))
      }
    }
  }

  // MARK: the name table

  /// A size the name table's shapes refer to, resolved per tower.
  private enum Size { case width, intermediate, vocabulary, positions, projection, channels, patch }

  /// The per-layer part of the table, relative to `encoder.layers.<i>.` and
  /// `[visual.]transformer.resblocks.<i>.`; both towers share it.
  private static let layerTable: [(name: String, source: String, part: Int?, shape: [Size])] = [
    ("self_attn.q_proj.weight", "attn.in_proj_weight", 0, [.width, .width]),
    ("self_attn.k_proj.weight", "attn.in_proj_weight", 1, [.width, .width]),
    ("self_attn.v_proj.weight", "attn.in_proj_weight", 2, [.width, .width]),
    ("self_attn.q_proj.bias", "attn.in_proj_bias", 0, [.width]),
    ("self_attn.k_proj.bias", "attn.in_proj_bias", 1, [.width]),
    ("self_attn.v_proj.bias", "attn.in_proj_bias", 2, [.width]),
    ("self_attn.out_proj.weight", "attn.out_proj.weight", nil, [.width, .width]),
    ("self_attn.out_proj.bias", "attn.out_proj.bias", nil, [.width]),
    ("layer_norm1.weight", "ln_1.weight", nil, [.width]),
    ("layer_norm1.bias", "ln_1.bias", nil, [.width]),
    ("mlp.fc1.weight", "mlp.c_fc.weight", nil, [.intermediate, .width]),
    ("mlp.fc1.bias", "mlp.c_fc.bias", nil, [.intermediate]),
    ("mlp.fc2.weight", "mlp.c_proj.weight", nil, [.width, .intermediate]),
    ("mlp.fc2.bias", "mlp.c_proj.bias", nil, [.width]),
    ("layer_norm2.weight", "ln_2.weight", nil, [.width]),
    ("layer_norm2.bias", "ln_2.bias", nil, [.width]),
  ]
  /// The fused query/key/value tensors hold this many projections.
  private static let fusedProjections = 3

  private enum TransformKind { case copy, transpose, positions }

  /// The rest of each tower, by full name.
  private static let textTable: [(name: String, source: String, kind: TransformKind, shape: [Size])] = [
    ("text_model.embeddings.token_embedding.weight", "token_embedding.weight", .copy, [.vocabulary, .width]),
    ("text_model.embeddings.position_embedding.weight", frozenPositions, .positions, [.positions, .width]),
    ("text_model.final_layer_norm.weight", "ln_final.weight", .copy, [.width]),
    ("text_model.final_layer_norm.bias", "ln_final.bias", .copy, [.width]),
    ("text_projection.weight", "text_projection", .transpose, [.projection, .width]),
    ("logit_scale", "logit_scale", .copy, []),
  ]
  private static let visionTable: [(name: String, source: String, kind: TransformKind, shape: [Size])] = [
    ("vision_model.embeddings.class_embedding", "visual.class_embedding", .copy, [.width]),
    ("vision_model.embeddings.patch_embedding.weight", "visual.conv1.weight", .copy, [.width, .channels, .patch, .patch]),
    ("vision_model.embeddings.position_embedding.weight", "visual.positional_embedding", .copy, [.positions, .width]),
    ("vision_model.pre_layrnorm.weight", "visual.ln_pre.weight", .copy, [.width]),
    ("vision_model.pre_layrnorm.bias", "visual.ln_pre.bias", .copy, [.width]),
    ("vision_model.post_layernorm.weight", "visual.ln_post.weight", .copy, [.width]),
    ("vision_model.post_layernorm.bias", "visual.ln_post.bias", .copy, [.width]),
    ("visual_projection.weight", "visual.proj", .transpose, [.projection, .width]),
  ]
  private static let textLayers = (name: "text_model.encoder.layers.", source: "transformer.resblocks.")
  private static let visionLayers = (
    name: "vision_model.encoder.layers.", source: "visual.transformer.resblocks."
  )

  private static func table(for config: CLIPConfig, keptRows: Int) -> [ConvertedTensor] {
    let text = config.textConfig
    let vision = config.visionConfig
    let textSizes: [Size: Int] = [
      .width: text.hiddenSize, .intermediate: text.intermediateSize, .vocabulary: text.vocabSize,
      .positions: text.maxPositionEmbeddings, .projection: config.projectionDim,
    ]
    let visionSizes: [Size: Int] = [
      .width: vision.hiddenSize, .intermediate: vision.intermediateSize,
      .positions: vision.positionCount, .projection: config.projectionDim,
      .channels: vision.numChannels, .patch: vision.patchSize,
    ]
    func tower(
      _ entries: [(name: String, source: String, kind: TransformKind, shape: [Size])],
      layers: (name: String, source: String), count: Int, sizes: [Size: Int]
    ) -> [ConvertedTensor] {
      let own = entries.map { entry in
        let derivation: Derivation =
          switch entry.kind {
          case .copy: .copy(entry.source)
          case .transpose: .transpose(entry.source)
          case .positions: .effectivePositions(keptRows: keptRows)
          }
        return ConvertedTensor(
          name: entry.name, derivation: derivation, shape: entry.shape.map { sizes[$0]! })
      }
      let perLayer = (0..<count).flatMap { i in
        layerTable.map { entry in
          let source = "\(layers.source)\(i).\(entry.source)"
          return ConvertedTensor(
            name: "\(layers.name)\(i).\(entry.name)",
            derivation: entry.part.map { .slice(source, index: $0, count: fusedProjections) }
              ?? .copy(source),
            shape: entry.shape.map { sizes[$0]! })
        }
      }
      return own + perLayer
    }
    return tower(textTable, layers: textLayers, count: text.numHiddenLayers, sizes: textSizes)
      + tower(visionTable, layers: visionLayers, count: vision.numHiddenLayers, sizes: visionSizes)
  }

  /// The shape a source tensor must have for `entry` to come out with `entry.shape`.
  private static func sourceShapes(of entry: ConvertedTensor) -> [(name: String, shape: [Int])] {
    switch entry.derivation {
    case .copy(let source): [(source, entry.shape)]
    case .transpose(let source): [(source, entry.shape.reversed())]
    case .slice(let source, _, let count): [(source, [entry.shape[0] * count] + entry.shape.dropFirst())]
    case .effectivePositions: [(frozenPositions, entry.shape), (trainedPositions, entry.shape)]
    }
  }

  /// Every source tensor present with its shape, and no state-dict entry left unconverted.
  private static func verify(
    _ table: [ConvertedTensor], against shapes: [String: [Int]], path: String
  ) throws {
    var read = Set(nonWeightEntries)
    for entry in table {
      for (name, shape) in sourceShapes(of: entry) {
        guard let actual = shapes[name] else {
          throw WeightError.missingTensor(path: path, key: name)
        }
        guard actual == shape else {
          throw WeightError.shapeMismatch(path: path, key: name, expected: shape, actual: actual)
        }
        read.insert(name)
      }
    }
    let unused = shapes.keys.filter { !read.contains($0) }.sorted()
    if !unused.isEmpty { throw WeightError.unusedTensors(path: path, keys: unused) }
  }

  // MARK: sizes from shapes

  /// The sizes `build_model` infers: widths from the final and patch layers, depths from the
  /// highest block index, the text context from the position table, the image size from the
  /// patch grid. Heads are width / `headWidth`; the activation is OpenAI's QuickGELU.
  private static func inferConfig(_ shapes: [String: [Int]], path: String, headWidth: Int) throws
    -> CLIPConfig
  {
    func shape(_ name: String, rank: Int) throws -> [Int] {
      guard let shape = shapes[name] else { throw WeightError.missingTensor(path: path, key: name) }
      guard shape.count == rank else {
        throw LongCLIPError.inconsistent(
          path: path, reason: "tensor '\(name)' has shape \(shape), expected \(rank) axes")
      }
      return shape
    }
    func heads(_ width: Int, _ tower: String) throws -> Int {
      guard headWidth > 0, width % headWidth == 0 else {
        throw LongCLIPError.inconsistent(
          path: path,
          reason: "the \(tower) width \(width) is not a multiple of the head width \(headWidth)")
      }
      return width / headWidth
    }
    if shapes["visual.proj"] == nil,
      shapes.keys.contains(where: { $0.hasPrefix("visual.layer") || $0.hasPrefix("visual.attnpool") })
    {
      throw LongCLIPError.unsupported(
        path: path, reason: "ResNet image tower (only ViT checkpoints, as Long-CLIP releases, convert)")
    }

    let textWidth = try shape("ln_final.weight", rank: 1)[0]
    let embedding = try shape("token_embedding.weight", rank: 2)
    let positions = try shape(frozenPositions, rank: 2)[0]
    let textProjection = try shape("text_projection", rank: 2)
    let textLayers = try layerCount(shapes, prefix: Self.textLayers.source, path: path)
    let text = CLIPTextConfig(
      vocabSize: embedding[0], hiddenSize: textWidth,
      intermediateSize: try shape("\(Self.textLayers.source)0.mlp.c_fc.weight", rank: 2)[0],
      projectionDim: textProjection[1], numHiddenLayers: textLayers,
      numAttentionHeads: try heads(textWidth, "text"), maxPositionEmbeddings: positions,
      hiddenAct: .quickGelu)

    let conv = try shape("visual.conv1.weight", rank: 4)
    let (visionWidth, channels, patch) = (conv[0], conv[1], conv[3])
    guard conv[2] == patch else {
      throw LongCLIPError.inconsistent(
        path: path, reason: "visual.conv1.weight has non-square \(conv[2])x\(patch) patches")
    }
    let patchPositions = try shape("visual.positional_embedding", rank: 2)[0]
    let grid = Int(Double(patchPositions - 1).squareRoot().rounded())
    guard grid > 0, grid * grid + 1 == patchPositions else {
      throw LongCLIPError.inconsistent(
        path: path,
        reason: "visual.positional_embedding has \(patchPositions) rows, not a class token plus "
          + "a square grid of patches")
    }
    let visionProjection = try shape("visual.proj", rank: 2)
    guard visionProjection[1] == textProjection[1] else {
      throw LongCLIPError.inconsistent(
        path: path,
        reason: "text_projection projects to \(textProjection[1]), visual.proj to "
          + "\(visionProjection[1])")
    }
    let visionLayers = try layerCount(shapes, prefix: Self.visionLayers.source, path: path)
    let vision = CLIPVisionConfig(
      hiddenSize: visionWidth,
      intermediateSize: try shape("\(Self.visionLayers.source)0.mlp.c_fc.weight", rank: 2)[0],
      projectionDim: textProjection[1], numHiddenLayers: visionLayers,
      numAttentionHeads: try heads(visionWidth, "vision"), numChannels: channels,
      imageSize: grid * patch, patchSize: patch, hiddenAct: .quickGelu)

    for (tower, problem) in [("text", text.invariantViolation), ("vision", vision.invariantViolation)] {
      if let problem {
        throw LongCLIPError.inconsistent(path: path, reason: "\(tower) tower: \(problem)")
      }
    }
    return CLIPConfig(textConfig: text, visionConfig: vision, projectionDim: textProjection[1])
  }

  /// One more than the highest block index under `prefix` (missing blocks then show up as
  /// missing tensors, not as a shallower model). A tower without blocks has no block 0, whose
  /// MLP width is read first, so it fails as a missing tensor.
  private static func layerCount(_ shapes: [String: [Int]], prefix: String, path: String) throws
    -> Int
  {
    var highest = -1
    for name in shapes.keys where name.hasPrefix(prefix) {
      let index = name.dropFirst(prefix.count).prefix { $0 != "." }
      guard let value = Int(index), value >= 0 else {
        throw LongCLIPError.inconsistent(
          path: path, reason: "'\(name)' has no block index after \(prefix)")
      }
      highest = max(highest, value)
    }
    return highest + 1
  }

  private static func comparePositionTables(_ archive: TorchArchive, keptRows: Int) throws
    -> PositionTableReport
  {
    let frozen = try archive.tensor(frozenPositions)
    let trained = try archive.tensor(trainedPositions)
    let (positions, width) = (frozen.shape[0], frozen.shape[1])
    var first: Int?
    var trainedRows = 0
    for row in 0..<positions {
      let range = (row * width)..<((row + 1) * width)
      let differs = !zip(frozen.scalars[range], trained.scalars[range]).allSatisfy {
        $0.bitPattern == $1.bitPattern
      }
      guard differs else { continue }
      if first == nil { first = row }
      if row >= keptRows { trainedRows += 1 }
    }
    return PositionTableReport(
      keptRows: keptRows, positions: positions, firstDifferingRow: first,
      trainedRowCount: trainedRows)
  }
}

/// The small JSON files of a transformers CLIP directory, as `save_pretrained` writes them
/// (transformers 4.57).
enum HuggingFaceFiles {
  static let tokenizerConfigFileName = "tokenizer_config.json"
  static let specialTokensFileName = "special_tokens_map.json"
  static let preprocessorFileName = "preprocessor_config.json"

  static func config(_ config: CLIPConfig) throws -> Data {
    let encoded = try JSONEncoder().encode(config)
    guard var object = try JSONSerialization.jsonObject(with: encoded) as? [String: Any] else {
      preconditionFailure("CLIPConfig encodes to a JSON object")
    }
    object["architectures"] = ["CLIPModel"]
    return try json(object)
  }

  /// The special tokens as the slow tokenizer saves them: end-of-text doubles as the unknown and
  /// the padding token.
  private static func addedToken(_ content: String) -> [String: Any] {
    [
      "content": content, "lstrip": false, "normalized": true, "rstrip": false,
      "single_word": false,
    ]
  }

  static func tokenizerConfig(_ tokenizer: CLIPTokenizer, contextLength: Int) throws -> Data {
    var decoder: [String: Any] = [:]
    for (id, token) in [
      (tokenizer.startOfTextID, CLIPTokenizer.startOfTextToken),
      (tokenizer.endOfTextID, CLIPTokenizer.endOfTextToken),
    ] {
      decoder[String(id)] = addedToken(token).merging(["special": true]) { $1 }
    }
    return try json([
      "added_tokens_decoder": decoder,
      "bos_token": CLIPTokenizer.startOfTextToken,
      "clean_up_tokenization_spaces": false,
      "eos_token": CLIPTokenizer.endOfTextToken,
      "errors": "replace",
      "extra_special_tokens": [String: Any](),
      "model_max_length": contextLength,
      "pad_token": CLIPTokenizer.endOfTextToken,
      "tokenizer_class": "CLIPTokenizer",
      "unk_token": CLIPTokenizer.endOfTextToken,
    ])
  }

  static func specialTokensMap() throws -> Data {
    try json([
      "bos_token": addedToken(CLIPTokenizer.startOfTextToken),
      "eos_token": addedToken(CLIPTokenizer.endOfTextToken),
      "pad_token": CLIPTokenizer.endOfTextToken,
      "unk_token": addedToken(CLIPTokenizer.endOfTextToken),
    ])
  }

  /// OpenAI CLIP's preprocessing (bicubic shortest-edge resize, centre crop, its mean and std) at
  /// the tower's image size: 224 for ViT-B/16 and L/14, 336 for L/14@336px.
  static func preprocessorConfig(imageSize: Int) throws -> Data {
    let normalization = PreprocessorConfig.Normalization.openAICLIP
    return try json([
      "crop_size": ["height": imageSize, "width": imageSize],
      "do_center_crop": true,
      "do_convert_rgb": true,
      "do_normalize": true,
      "do_rescale": true,
      "do_resize": true,
      "image_mean": normalization.mean,
      "image_processor_type": "CLIPImageProcessor",
      "image_std": normalization.std,
      "resample": ResamplingFilter.bicubic.rawValue,
      "rescale_factor": PreprocessorConfig.defaultRescaleFactor,
      "size": ["shortest_edge": imageSize],
    ])
  }

  private static func json(_ object: [String: Any]) throws -> Data {
    try JSONSerialization.data(
      withJSONObject: object, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes])
      + Data("\n".utf8)
  }
}
