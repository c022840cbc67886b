// What the commands that turn a list of inputs into one batch of CLIP embeddings (`image`, `text`)
// share: their options, the gathering of encoder outputs batch by batch, L2 normalization, the
// default output path and the metadata they add.

import ArgumentParser
import CLIP
import Core
import Foundation

/// `--normalize`, `--hidden` and `--batch-size`.
struct EncodeOptions: ParsableArguments {
  @Flag(
    help: ArgumentHelp(
      "L2-normalize each row of the embeddings (as torch.nn.functional.normalize); pooler_output "
        + "and last_hidden_state are written as the model gives them."))
  var normalize = false

  @Flag(help: "Also write last_hidden_state [N, T, W].")
  var hidden = false

  @Option(help: "Inputs per encoder batch (the results do not depend on it).")
  var batchSize = defaultBatchSize

  /// Large enough that the matrix products of a small model are not all overhead, small enough
  /// that a batch of decoded inputs stays a few MB for ViT-B-sized crops.
  static let defaultBatchSize = 16

  func validate() throws {
    if batchSize < 1 { throw ValidationError("--batch-size must be at least 1") }
  }

  /// `0..<count` cut into consecutive ranges of at most ``batchSize`` indices.
  func batches(count: Int) -> [Range<Int>] {
    stride(from: 0, to: count, by: batchSize).map { $0..<min($0 + batchSize, count) }
  }

  /// The metadata key saying whether `<embeds name>` was normalized, `"<command>.normalized"`,
  /// with the value `"true"` or `"false"`.
  func metadata(command: String) -> [String: String] {
    ["\(command).normalized": String(normalize)]
  }
}

/// Encoder outputs gathered batch by batch, in input order, as the arrays of one output file.
///
/// Holds only the outputs (N x (P + W) floats, plus N x T x W with hidden states kept), never the
/// inputs, so a long list of inputs costs the memory of its results and one batch.
struct EncodedBatches {
  /// The name of the embeddings array, `image_embeds` or `text_embeds`; nil for a tower without
  /// a projection, whose outputs have no embeddings.
  let embedsName: String?
  /// Whether `last_hidden_state` is kept (`--hidden`).
  let keepsHiddenStates: Bool
  /// Rows gathered so far.
  private(set) var count = 0
  private var embeds: [Float] = []
  private var pooled: [Float] = []
  private var hidden: [Float] = []
  /// Shapes of one row of each array, from the first batch.
  private var rowShapes: (embeds: [Int]?, pooled: [Int], hidden: [Int])?

  init(embedsName: String?, keepsHiddenStates: Bool) {
    self.embedsName = embedsName
    self.keepsHiddenStates = keepsHiddenStates
  }

  /// Appends the `N` rows of one batch; every batch must come from the same encoder (same row
  /// shapes), with embeddings exactly when ``embedsName`` is set, which a programmer guarantees.
  mutating func append(_ output: CLIPEncoderOutput) {
    precondition(
      (output.embeds == nil) == (embedsName == nil), "embeddings exactly when there is a name for them")
    let shapes = (
      embeds: output.embeds.map { Array($0.shape.dropFirst()) },
      pooled: Array(output.pooled.shape.dropFirst()),
      hidden: Array(output.lastHiddenState.shape.dropFirst())
    )
    if let rowShapes {
      precondition(
        rowShapes.embeds == shapes.embeds && rowShapes.pooled == shapes.pooled
          && rowShapes.hidden == shapes.hidden, "batches from different encoders")
    } else {
      rowShapes = shapes
    }
    count += output.pooled.shape[0]
    embeds += output.embeds?.scalars ?? []
    pooled += output.pooled.scalars
    if keepsHiddenStates { hidden += output.lastHiddenState.scalars }
  }

  /// `<embedsName>` `[N, P]` (rows L2-normalized when `normalize`) when there is a name,
  /// `pooler_output` `[N, W]` and, when hidden states are kept, `last_hidden_state` `[N, T, W]`,
  /// all float32. With no rows appended the arrays have zero rows and unknown (zero) row shapes.
  func arrays(normalize: Bool) -> [NamedArray] {
    let shapes = rowShapes ?? (embeds: [0], pooled: [0], hidden: [0, 0])
    var arrays: [NamedArray] = []
    if let embedsName {
      let rowShape = shapes.embeds ?? [0]
      let width = rowShape.reduce(1, *)
      arrays.append(
        NamedArray(
          embedsName, shape: [count] + rowShape,
          values: .float32(normalize ? l2NormalizedRows(embeds, width: width) : embeds)))
    }
    arrays.append(
      NamedArray("pooler_output", shape: [count] + shapes.pooled, values: .float32(pooled)))
    if keepsHiddenStates {
      arrays.append(NamedArray("last_hidden_state", shape: [count] + shapes.hidden, values: .float32(hidden)))
    }
    return arrays
  }
}

/// Below this norm a row is divided by it instead, as `torch.nn.functional.normalize` does, so an
/// all-zero row stays zero instead of becoming NaN.
private let smallestNorm = 1e-12

/// Each `width`-long row of `values` divided by its L2 norm: `x / x.norm(dim=-1, keepdim=True)`,
/// the normalization CLIP applies before comparing embeddings.
func l2NormalizedRows(_ values: [Float], width: Int) -> [Float] {
  guard width > 0 else { return values }
  var out = values
  for start in stride(from: 0, to: values.count, by: width) {
    let row = values[start..<(start + width)]
    let norm = max(row.reduce(0) { $0 + Double($1) * Double($1) }.squareRoot(), smallestNorm)
    for i in row.indices { out[i] = Float(Double(values[i]) / norm) }
  }
  return out
}

/// Why an encode command's options do not apply to the model given.
enum EncodeCommandError: Error, LocalizedError {
  /// `--normalize` with a tower that has no projection (`CLIPTextModel`, `CLIPVisionModel`), so
  /// there are no `embedsName` rows to normalize.
  case normalizeWithoutProjection(model: String, architecture: String, embedsName: String)

  var errorDescription: String? {
    switch self {
    case .normalizeWithoutProjection(let model, let architecture, let embedsName):
      "\(model): --normalize applies to \(embedsName), but this \(architecture) checkpoint has no "
        + "projection and so writes none (pooler_output and last_hidden_state are written as the "
        + "model gives them); drop --normalize"
    }
  }
}

extension OutputOptions {
  /// `-o`, or `<defaultName>.safetensors` (a `<defaultName>` directory with `--format npy`) in the
  /// current directory.
  func path(defaultName: String) -> String {
    if let output { return output }
    switch format {
    case .safetensors: return defaultName + ".safetensors"
    case .npy: return defaultName
    }
  }

  /// ``path(defaultName:)``, after checking that its directory exists, so that a mistyped `-o`
  /// fails before the encoding work rather than after it.
  func checkedPath(defaultName: String) throws -> String {
    let path = path(defaultName: defaultName)
    let parent = URL(fileURLWithPath: path).deletingLastPathComponent().path
    guard isDirectory(parent) else {
      throw WeightError.unwritable(path: path, reason: "no directory \(parent)")
    }
    return path
  }
}
