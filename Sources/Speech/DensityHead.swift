// The content-density score of FastLongSpeech (arXiv 2507.14815, Eq. 3), from the CTC head in
// ictnlp/FastLongSpeech `models/ctc_decoder/ctc_generator.py` as used by
// `models/qwen2audio_withCTC.py` (`merge_audios_reforward_onlysimilar_iterate_inte_blank_logit_longSpeech`).
import Core
import Foundation

/// How much content each frame carries, the weight of a frame in fusion's merged means.
public protocol ContentDensity: Sendable {
  /// - `frames`: `[T, D]`, the current (possibly already merged) frames.
  /// - Returns `T` values in `[0, 1]`.
  func density(of frames: Tensor) throws -> [Float]
}

/// Density 1 for every frame: fusion then takes (almost) plain means inside each span.
public struct UniformDensity: ContentDensity {
  public init() {}
  public func density(of frames: Tensor) -> [Float] {
    [Float](repeating: 1, count: frames.rank == 0 ? 0 : frames.shape[0])
  }
}

/// FastLongSpeech's CTC head as a density: `d = 1 - softmax(W_c (W_p LN(x) + b_p))[blank]`.
///
/// Tensors, under the names of the FastLongSpeech checkpoint (one file, a directory, or a sharded
/// index; a full model checkpoint works too, only these are read):
/// - `audio_tower.layer_norm.{weight,bias}` `[D]`: the encoder's final LayerNorm, applied first;
/// - `ctc_decoder.projector.{weight [H, D], bias [H]}`;
/// - `ctc_decoder.linear.weight` `[V, H]`, no bias; the blank is the last class, `V - 1`.
///
/// There is no nonlinearity between the two linears, so they are folded when loading into one
/// `[V, D]` matrix `W_c W_p` and bias `W_c b_p`.
public final class CTCDensityHead: ContentDensity {
  /// The file or index the head was read from.
  public let path: String
  /// Input frame width `D`.
  public let width: Int
  /// Output classes `V`, blank included.
  public let classes: Int
  /// Index of the CTC blank: the last class.
  public var blankIndex: Int { classes - 1 }
  private let normWeight: Tensor
  private let normBias: Tensor
  /// `[classes, width]`.
  private let foldedWeight: Tensor
  /// `[classes]`.
  private let foldedBias: Tensor

  /// Frames per density GEMM: bounds the `[chunk, classes]` logits buffer (80 MB at full size).
  static let chunkFrames = 2000
  static let layerNormEpsilon: Float = 1e-5

  static let normPrefix = "audio_tower.layer_norm"
  static let headPrefix = "ctc_decoder"

  /// Reads and folds the head at `path` (a `.safetensors` file, an index, or a directory).
  public convenience init(path: String) throws {
    let checkpoint = try Checkpoint(path: path)
    func mismatch(_ reason: String) -> SpeechError { .headMismatch(path: checkpoint.path, reason: reason) }
    let head = WeightReader(checkpoint, prefix: Self.headPrefix)
    let norm = WeightReader(checkpoint, prefix: Self.normPrefix)
    let projectorShape = try checkpoint.shape(of: "\(Self.headPrefix).projector.weight")
    let linearShape = try checkpoint.shape(of: "\(Self.headPrefix).linear.weight")
    let normShape = try checkpoint.shape(of: "\(Self.normPrefix).weight")
    guard projectorShape.count == 2, linearShape.count == 2, normShape.count == 1 else {
      throw mismatch(
        "projector \(projectorShape), linear \(linearShape) and LayerNorm \(normShape) must be 2-D, 2-D and 1-D")
    }
    let (hidden, width) = (projectorShape[0], projectorShape[1])
    guard normShape[0] == width else {
      throw mismatch("LayerNorm has width \(normShape[0]) but the projector takes \(width) inputs")
    }
    guard linearShape[1] == hidden else {
      throw mismatch("linear takes \(linearShape[1]) inputs but the projector gives \(hidden)")
    }
    guard linearShape[0] >= 2 else {
      throw mismatch("linear has \(linearShape[0]) classes; a CTC head needs a blank and at least one token")
    }
    let layerNorm = (try norm("weight", shape: [width]), try norm("bias", shape: [width]))
    let projector = (
      try head("projector.weight", shape: [hidden, width]), try head("projector.bias", shape: [hidden])
    )
    let linear = try head("linear.weight", shape: [linearShape[0], hidden])
    self.init(path: checkpoint.path, layerNorm: layerNorm, projector: projector, linear: linear)
    try head.verifyAllUsed()
    try norm.verifyAllUsed()
  }

  /// A head from tensors whose shapes fit (`[D]`, `[D]`, `[H, D]`, `[H]`, `[V, H]`), for callers
  /// that build one in memory (benchmarks); `path` names it in errors.
  package init(
    path: String, layerNorm: (weight: Tensor, bias: Tensor),
    projector: (weight: Tensor, bias: Tensor), linear: Tensor
  ) {
    let (hidden, width) = (projector.weight.shape[0], projector.weight.shape[1])
    precondition(
      layerNorm.weight.shape == [width] && layerNorm.bias.shape == [width]
        && projector.bias.shape == [hidden] && linear.rank == 2 && linear.shape[1] == hidden
        && linear.shape[0] >= 2, "CTC head tensors do not fit each other")
    self.path = path
    self.width = width
    classes = linear.shape[0]
    normWeight = layerNorm.weight
    normBias = layerNorm.bias
    foldedWeight = matmul(linear, projector.weight)
    foldedBias = matmul(linear, projector.bias.reshaped([hidden, 1])).reshaped([classes])
  }

  /// Throws ``SpeechError/headMismatch(path:reason:)`` unless the head takes frames of `width`.
  public func check(width encoderWidth: Int) throws {
    guard encoderWidth == width else {
      throw SpeechError.headMismatch(
        path: path, reason: "the head takes \(width)-wide frames but the encoder gives \(encoderWidth)")
    }
  }

  /// CTC logits `[T, classes]` of frames `[T, width]` (folded head).
  package func logits(of frames: Tensor) -> Tensor {
    linear(
      layerNorm(frames, weight: normWeight, bias: normBias, eps: Self.layerNormEpsilon),
      weight: foldedWeight, bias: foldedBias)
  }

  /// `1 - p(blank)` per frame, in chunks of ``chunkFrames``; `frames` is `[T, width]`.
  public func density(of frames: Tensor) throws -> [Float] {
    guard frames.rank == 2, frames.shape[1] == width else {
      throw SpeechError.headMismatch(
        path: path, reason: "the head takes \(width)-wide frames, got frames of shape \(frames.shape)")
    }
    let count = frames.shape[0]
    var result = [Float](repeating: 0, count: count)
    for start in stride(from: 0, to: count, by: Self.chunkFrames) {
      let end = min(start + Self.chunkFrames, count)
      let z = logits(of: frames.rows(start..<end))
      result.withUnsafeMutableBufferPointer { out in
        z.scalars.withUnsafeBufferPointer { z in
          let (classes, blank) = (classes, blankIndex)
          Threads.parallelFor(end - start, grain: grain(elementsPerItem: classes)) { rows in
            for r in rows {
              let row = z.baseAddress! + r * classes
              var maximum = -Float.infinity
              for c in 0..<classes { maximum = max(maximum, row[c]) }
              var sum: Float = 0
              for c in 0..<classes { sum += expf(row[c] - maximum) }
              out[start + r] = 1 - expf(row[blank] - maximum) / sum
            }
          }
        }
      }
    }
    return result
  }
}
