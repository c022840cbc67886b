// Port of transformers 4.57 `models/clip/modeling_clip.py`: CLIPEncoder, CLIPEncoderLayer,
// CLIPAttention and CLIPMLP, which the text and vision towers share, and the two leaf layers
// (nn.Linear, nn.LayerNorm) every CLIP module is built from. Each layer reads its tensors from a
// source scoped to its own checkpoint path, so the names here are the checkpoint's.

import Core

/// Where CLIP modules get their tensors, by checkpoint name: a strict ``WeightReader`` over a
/// checkpoint file, or an in-memory source (random weights for benchmarks, a converted state
/// dict).
package protocol CLIPWeightSource {
  /// The source for sub-module `component`; names below it are joined with ".".
  func scoped(_ component: String) -> Self
  /// The tensor `name` under this scope, which must have exactly `shape`.
  func callAsFunction(_ name: String, shape: [Int]) throws -> Tensor
}

extension WeightReader: CLIPWeightSource {}

/// `nn.Linear` in PyTorch's layout: `weight` [out, in], `bias` [out] or none.
struct Linear: Sendable {
  let weight: Tensor
  let bias: Tensor?

  init(_ weights: some CLIPWeightSource, inFeatures: Int, outFeatures: Int, bias: Bool = true) throws {
    weight = try weights("weight", shape: [outFeatures, inFeatures])
    self.bias = bias ? try weights("bias", shape: [outFeatures]) : nil
  }

  /// `[..., in] -> [..., out]`.
  func callAsFunction(_ x: Tensor) -> Tensor { linear(x, weight: weight, bias: bias) }
}

/// `nn.LayerNorm` over the last axis, `weight` and `bias` [W].
struct LayerNorm: Sendable {
  let weight: Tensor
  let bias: Tensor
  let eps: Float

  init(_ weights: some CLIPWeightSource, width: Int, eps: Double) throws {
    weight = try weights("weight", shape: [width])
    bias = try weights("bias", shape: [width])
    self.eps = Float(eps)
  }

  /// `[..., W] -> [..., W]`.
  func callAsFunction(_ x: Tensor) -> Tensor { layerNorm(x, weight: weight, bias: bias, eps: eps) }
}

/// The sizes of a tower's transformer stack, from either tower's config.
struct EncoderSizes: Sendable {
  let width: Int
  let heads: Int
  let intermediate: Int
  let layers: Int
  let activation: CLIPActivation
  let eps: Double
}

/// The stack of pre-LayerNorm transformer layers under `encoder.layers.<i>`.
struct CLIPEncoder: Sendable {
  private let layers: [EncoderLayer]

  /// Reads `layers.<i>.*` below `weights` (a source scoped to the tower's `encoder`).
  init(_ weights: some CLIPWeightSource, sizes: EncoderSizes) throws {
    layers = try (0..<sizes.layers).map {
      try EncoderLayer(weights.scoped("layers").scoped(String($0)), sizes: sizes)
    }
  }

  /// - `x`: `[N, T, W]`.
  /// - `causal`: position `i` attends only to positions `<= i` (the text tower).
  /// - `keyMask`: `N` rows of `T` flags, `false` for keys no position may attend (padding).
  ///   Combined with `causal` as transformers adds its two additive masks.
  /// - Returns `[N, T, W]`, the last layer's output (no final norm).
  func callAsFunction(_ x: Tensor, causal: Bool, keyMask: [[Bool]]?) -> Tensor {
    layers.reduce(x) { hidden, layer in layer(hidden, causal: causal, keyMask: keyMask) }
  }
}

private struct EncoderLayer: Sendable {
  let selfAttention: SelfAttention
  let layerNorm1: LayerNorm
  let mlp: MLP
  let layerNorm2: LayerNorm

  init(_ weights: some CLIPWeightSource, sizes: EncoderSizes) throws {
    selfAttention = try SelfAttention(weights.scoped("self_attn"), sizes: sizes)
    layerNorm1 = try LayerNorm(weights.scoped("layer_norm1"), width: sizes.width, eps: sizes.eps)
    mlp = try MLP(weights.scoped("mlp"), sizes: sizes)
    layerNorm2 = try LayerNorm(weights.scoped("layer_norm2"), width: sizes.width, eps: sizes.eps)
  }

  func callAsFunction(_ x: Tensor, causal: Bool, keyMask: [[Bool]]?) -> Tensor {
    let attended = add(x, selfAttention(layerNorm1(x), causal: causal, keyMask: keyMask))
    return add(attended, mlp(layerNorm2(attended)))
  }
}

private struct SelfAttention: Sendable {
  let query: Linear
  let key: Linear
  let value: Linear
  let output: Linear
  let heads: Int

  init(_ weights: some CLIPWeightSource, sizes: EncoderSizes) throws {
    let w = sizes.width
    query = try Linear(weights.scoped("q_proj"), inFeatures: w, outFeatures: w)
    key = try Linear(weights.scoped("k_proj"), inFeatures: w, outFeatures: w)
    value = try Linear(weights.scoped("v_proj"), inFeatures: w, outFeatures: w)
    output = try Linear(weights.scoped("out_proj"), inFeatures: w, outFeatures: w)
    heads = sizes.heads
  }

  func callAsFunction(_ x: Tensor, causal: Bool, keyMask: [[Bool]]?) -> Tensor {
    output(
      attention(
        query: query(x), key: key(x), value: value(x), heads: heads, causal: causal,
        keyMask: keyMask))
  }
}

private struct MLP: Sendable {
  let fc1: Linear
  let fc2: Linear
  let activation: CLIPActivation

  init(_ weights: some CLIPWeightSource, sizes: EncoderSizes) throws {
    fc1 = try Linear(weights.scoped("fc1"), inFeatures: sizes.width, outFeatures: sizes.intermediate)
    fc2 = try Linear(weights.scoped("fc2"), inFeatures: sizes.intermediate, outFeatures: sizes.width)
    activation = sizes.activation
  }

  func callAsFunction(_ x: Tensor) -> Tensor {
    let hidden = fc1(x)
    return switch activation {
    case .quickGelu: fc2(quickGelu(hidden))
    case .gelu: fc2(gelu(hidden))
    }
  }
}
