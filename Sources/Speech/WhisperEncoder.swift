// Port of transformers 4.57 `WhisperEncoder` (models/whisper/modeling_whisper.py) and
// `Qwen2AudioEncoder` (models/qwen2_audio/modeling_qwen2_audio.py). Both share one residual block;
// Qwen2-Audio adds average pooling before the final LayerNorm and masks padded frames.
import Core
import Foundation

/// A Whisper-family speech encoder loaded from a Hugging Face checkpoint directory.
///
/// Audio is encoded in 30 s windows, each alone: log-mel `[melBins, 3000]` → conv1 (k3, pad 1) +
/// GELU → conv2 (k3, stride 2, pad 1) + GELU → + `embed_positions` → pre-LN transformer layers →
/// (Qwen2-Audio: average pooling, k2 s2) → final LayerNorm.
///
/// The frames a window yields for fusion (``encodeWindow(_:)``) are
/// - Whisper: `last_hidden_state`, after the final LayerNorm, 50 per second; the zero-padded
///   window is encoded unmasked, exactly as transformers and openai/whisper do;
/// - Qwen2-Audio: the pooled frames *before* the final LayerNorm, 25 per second, where FastLongSpeech
///   fuses; ``outputNorm(_:)`` applies the LayerNorm afterwards.
///
/// Only valid frames are returned (spec section 4: from `m = ceil(samples / 160)` mel frames,
/// `floor((m - 1) / 2) + 1` after conv2, then `floor((a - 2) / 2) + 1` after pooling).
public final class SpeechEncoder: Sendable {
  public let config: SpeechEncoderConfig
  /// The front end that feeds this encoder.
  public let logMel: LogMelSpectrogram
  private let conv1: Convolution
  private let conv2: Convolution
  /// `[positions, width]`.
  private let positions: Tensor
  private let layers: [EncoderLayer]
  private let finalNorm: Norm

  /// Loads the encoder from a checkpoint directory holding `config.json` and `model.safetensors`
  /// or a sharded `model.safetensors.index.json`.
  ///
  /// Loading is strict: every tensor under the encoder's prefix must be used and have the expected
  /// shape. Of a sharded multi-modal checkpoint, only the shards holding encoder tensors are opened.
  public convenience init(directory: String) throws {
    let configPath = (directory as NSString).appendingPathComponent("config.json")
    let config = try SpeechEncoderConfig(contentsOf: configPath)
    try SpeechEncoderConfig.checkPreprocessor(
      at: (directory as NSString).appendingPathComponent("preprocessor_config.json"),
      melBins: config.melBins)
    try self.init(config: config, checkpoint: try Checkpoint(path: directory))
  }

  /// Builds the encoder of `config` from `checkpoint`, finding the encoder's key prefix itself.
  public init(config: SpeechEncoderConfig, checkpoint: Checkpoint) throws {
    guard
      let prefix = config.architecture.weightPrefixes.first(where: {
        checkpoint.contains($0 + "conv1.weight")
      })
    else {
      throw WeightError.missingTensor(
        path: checkpoint.path, key: config.architecture.weightPrefixes[0] + "conv1.weight")
    }
    let weights = WeightReader(checkpoint, prefix: prefix)
    let d = config.width
    self.config = config
    logMel = LogMelSpectrogram(melBins: config.melBins)
    conv1 = try Convolution(weights.scoped("conv1"), out: d, in: config.melBins)
    conv2 = try Convolution(weights.scoped("conv2"), out: d, in: d)
    positions = try weights("embed_positions.weight", shape: [config.positions, d])
    layers = try (0..<config.layers).map {
      try EncoderLayer(weights.scoped("layers.\($0)"), config: config)
    }
    finalNorm = try Norm(weights.scoped("layer_norm"), width: d)
    // A bare-encoder checkpoint (empty prefix) must hold nothing else; under a prefix, siblings
    // such as the decoder or the language model are other modules' business.
    try weights.verifyAllUsed()
  }

  /// Encoder frames per second of ``encodeWindow(_:)``'s output (50 Whisper, 25 Qwen2-Audio).
  public var framesPerSecond: Int { config.framesPerSecond }

  /// Valid encoder frames for a window of `samples` samples (spec section 4): 480,000 → 1500
  /// (Whisper) or 750 (Qwen2-Audio); 1 sample → 1 or 0.
  public func validFrames(samples: Int) -> Int {
    let positions = validPositions(samples: samples)
    let stride = config.architecture.poolingStride
    return stride == 1 ? positions : floorDivision(positions - stride, stride) + 1
  }

  /// Valid positions after conv2 (before pooling): `floor((m - 1) / 2) + 1` of `m` mel frames.
  private func validPositions(samples: Int) -> Int {
    let mel = ceilDivision(samples, AudioFrontEnd.hopLength)
    return floorDivision(mel - 1, SpeechEncoderConfig.convolutionStride) + 1
  }

  /// Encodes one window.
  ///
  /// - `samples`: at most `AudioFrontEnd.samplesPerWindow` 16 kHz mono samples.
  /// - Returns `[validFrames(samples: samples.count), width]`: the frames fusion consumes.
  public func encodeWindow(_ samples: UnsafeBufferPointer<Float>) -> Tensor {
    encode(melWindow: logMel(samples), validSamples: samples.count)
  }

  /// See ``encodeWindow(_:)-(UnsafeBufferPointer<Float>)``.
  public func encodeWindow(_ samples: [Float]) -> Tensor {
    samples.withUnsafeBufferPointer { encodeWindow($0) }
  }

  /// Encodes a log-mel window `[melBins, 3000]` whose first `ceil(validSamples / 160)` frames
  /// hold audio. Returns `[validFrames(samples: validSamples), width]`.
  package func encode(melWindow mel: Tensor, validSamples: Int) -> Tensor {
    precondition(mel.shape == [config.melBins, AudioFrontEnd.melFramesPerWindow], "mel \(mel.shape)")
    let d = config.width
    let valid = validFrames(samples: validSamples)
    if valid == 0 { return Tensor(shape: [0, d], scalars: []) }
    var x = gelu(conv1(mel.reshaped([1] + mel.shape), stride: 1))
    x = gelu(conv2(x, stride: SpeechEncoderConfig.convolutionStride))
    var h = add(x.reshaped([d, config.positions]).transposed(), positions)
    switch config.architecture {
    case .whisper:
      for layer in layers { h = layer(h, heads: config.heads) }
      return layerNorm(h.rows(0..<valid), finalNorm)
    case .qwen2Audio:
      // The reference masks keys at positions >= a (the valid positions) with -inf, which gives
      // them exactly zero attention weight; the first a positions never see the rest, so running
      // only those is the same computation, and the valid pooled frames read positions < a only.
      h = h.rows(0..<validPositions(samples: validSamples))
      for layer in layers { h = layer(h, heads: config.heads) }
      let stride = config.architecture.poolingStride
      let pooled = avgPool1d(
        h.rows(0..<(valid * stride)).transposed().reshaped([1, d, valid * stride]),
        kernel: stride, stride: stride)
      return pooled.reshaped([d, valid]).transposed()
    }
  }

  /// What happens to fused frames before they leave the encoder: Qwen2-Audio's final LayerNorm
  /// (fusion runs before it); nothing for Whisper, whose frames are already normalised.
  ///
  /// - `frames`: `[T, width]`. Returns `[T, width]`.
  public func outputNorm(_ frames: Tensor) -> Tensor {
    switch config.architecture {
    case .whisper: frames
    case .qwen2Audio: layerNorm(frames, finalNorm)
    }
  }
}

/// `nn.Conv1d(in, out, kernel_size=3, padding=1)` with its stride given at the call.
private struct Convolution: Sendable {
  static let kernel = 3
  let weight: Tensor
  let bias: Tensor

  init(_ weights: WeightReader, out: Int, in: Int) throws {
    weight = try weights("weight", shape: [out, `in`, Self.kernel])
    bias = try weights("bias", shape: [out])
  }

  /// `[1, in, L]` → `[1, out, L / stride]`.
  func callAsFunction(_ x: Tensor, stride: Int) -> Tensor {
    conv1d(x, weight: weight, bias: bias, stride: stride, padding: Self.kernel / 2)
  }
}

private struct Norm: Sendable {
  let weight: Tensor
  let bias: Tensor
  init(_ weights: WeightReader, width: Int) throws {
    weight = try weights("weight", shape: [width])
    bias = try weights("bias", shape: [width])
  }
}

private func layerNorm(_ x: Tensor, _ norm: Norm) -> Tensor {
  layerNorm(x, weight: norm.weight, bias: norm.bias, eps: SpeechEncoderConfig.layerNormEpsilon)
}

private struct Linear: Sendable {
  let weight: Tensor
  let bias: Tensor?
  init(_ weights: WeightReader, out: Int, in: Int, bias hasBias: Bool = true) throws {
    weight = try weights("weight", shape: [out, `in`])
    bias = hasBias ? try weights("bias", shape: [out]) : nil
  }
  func callAsFunction(_ x: Tensor) -> Tensor { linear(x, weight: weight, bias: bias) }
}

/// `WhisperEncoderLayer` / `Qwen2AudioEncoderLayer`: pre-LN self-attention and GELU MLP, each
/// added back to the residual stream.
private struct EncoderLayer: Sendable {
  let attentionNorm: Norm
  let query: Linear
  /// Whisper's key projection has no bias.
  let key: Linear
  let value: Linear
  let output: Linear
  let mlpNorm: Norm
  let fc1: Linear
  let fc2: Linear

  init(_ weights: WeightReader, config: SpeechEncoderConfig) throws {
    let d = config.width
    let attention = weights.scoped("self_attn")
    attentionNorm = try Norm(weights.scoped("self_attn_layer_norm"), width: d)
    query = try Linear(attention.scoped("q_proj"), out: d, in: d)
    key = try Linear(attention.scoped("k_proj"), out: d, in: d, bias: false)
    value = try Linear(attention.scoped("v_proj"), out: d, in: d)
    output = try Linear(attention.scoped("out_proj"), out: d, in: d)
    mlpNorm = try Norm(weights.scoped("final_layer_norm"), width: d)
    fc1 = try Linear(weights.scoped("fc1"), out: config.feedForwardWidth, in: d)
    fc2 = try Linear(weights.scoped("fc2"), out: d, in: config.feedForwardWidth)
  }

  /// `[T, width]` → `[T, width]`.
  func callAsFunction(_ h: Tensor, heads: Int) -> Tensor {
    let (t, d) = (h.shape[0], h.shape[1])
    let normed = layerNorm(h, attentionNorm)
    let attended = attention(
      query: query(normed).reshaped([1, t, d]), key: key(normed).reshaped([1, t, d]),
      value: value(normed).reshaped([1, t, d]), heads: heads)
    let h = add(h, output(attended.reshaped([t, d])))
    return add(h, fc2(gelu(fc1(layerNorm(h, mlpNorm)))))
  }
}
