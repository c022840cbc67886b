import Core
import Foundation

/// Why speech input, a speech checkpoint or a fusion request was rejected.
///
/// Every case reads as one line naming the file (when there is one) and the problem.
public enum SpeechError: Error, Equatable, LocalizedError {
  /// `config.json` (or `preprocessor_config.json`) is missing, unreadable or does not describe a
  /// supported encoder.
  case malformedConfig(path: String, reason: String)
  /// `config.json` names a `model_type` that has no speech encoder here.
  case unsupportedModel(path: String, modelType: String)
  /// A CTC density head whose tensors do not fit each other or the encoder.
  case headMismatch(path: String, reason: String)
  /// Fusion was asked for fewer than one output frame.
  case invalidTargetLength(Int)
  /// The ladder schedule only reaches the lengths on its ladder.
  case targetNotOnLadder(target: Int, ladder: [Int])
  /// The ladder schedule was asked to fuse more than one 30 s window of audio (spec 6.1).
  case ladderNeedsOneWindow(path: String)
  /// A frames file (for fusion alone) is not one float array `[T, D]`.
  case invalidFramesFile(path: String, reason: String)
  /// Frames handed to fusion are not a `[T, D]` array of finite values.
  case invalidFrames(reason: String)
  /// A density function returned values that are not finite numbers in [0, 1].
  case invalidDensity(reason: String)

  public var errorDescription: String? {
    switch self {
    case .malformedConfig(let path, let reason): "\(path): malformed config: \(reason)"
    case .unsupportedModel(let path, let modelType):
      "\(path): model_type '\(modelType)' is not a supported speech encoder"
        + " (supported: \(SpeechArchitecture.allCases.flatMap(\.modelTypes).joined(separator: ", ")))"
    case .headMismatch(let path, let reason): "\(path): CTC head does not fit: \(reason)"
    case .invalidTargetLength(let target): "target length must be at least 1, got \(target)"
    case .targetNotOnLadder(let target, let ladder):
      "the ladder schedule cannot reach target length \(target); use one of "
        + ladder.map(String.init).joined(separator: ", ") + " or the halving schedule"
    case .ladderNeedsOneWindow(let path):
      "\(path): the ladder schedule is for at most one \(AudioFrontEnd.windowSeconds) s window of audio,"
        + " and this input is longer; use the halving schedule"
    case .invalidFramesFile(let path, let reason): "\(path): not a frames file: \(reason)"
    case .invalidFrames(let reason): "frames cannot be fused: \(reason)"
    case .invalidDensity(let reason): "content density is invalid: \(reason)"
    }
  }
}

/// The audio front end shared by every Whisper-family encoder, as in openai/whisper's `audio.py`.
///
/// The four constants are named once; everything else is derived from them by exact division.
public enum AudioFrontEnd {
  /// Input samples per second (mono).
  public static let sampleRate = 16_000
  /// Samples per STFT frame.
  public static let fftSize = 400
  /// Samples between STFT frames.
  public static let hopLength = 160
  /// Seconds of audio per encoder window.
  public static let windowSeconds = 30

  /// 480,000 samples in one 30 s window.
  public static let samplesPerWindow = windowSeconds * sampleRate
  /// 3,000 mel frames in one window (10 ms each).
  public static let melFramesPerWindow = exactDivision(samplesPerWindow, hopLength)
  /// 100 mel frames per second.
  public static let melFramesPerSecond = exactDivision(sampleRate, hopLength)
  /// 201 one-sided frequency bins of the STFT.
  public static let frequencyBins = fftSize / 2 + 1
}

/// `a / b` for a `b` known to divide `a`; a remainder means the constants above are inconsistent.
func exactDivision(_ a: Int, _ b: Int) -> Int {
  precondition(b != 0 && a % b == 0, "\(a) is not a multiple of \(b)")
  return a / b
}

/// `floor(a / b)` for `b > 0`. Swift's `/` truncates toward zero, which differs for negative `a`
/// (the frame-count formulas of spec section 4 rely on `floor(-1 / 2) == -1`).
public func floorDivision(_ a: Int, _ b: Int) -> Int {
  precondition(b > 0, "floorDivision needs a positive divisor, got \(b)")
  let q = a / b
  return (a % b != 0 && a < 0) ? q - 1 : q
}

/// `ceil(a / b)` for `a >= 0`, `b > 0`.
func ceilDivision(_ a: Int, _ b: Int) -> Int { floorDivision(a + b - 1, b) }

/// The encoder families read from Hugging Face checkpoints.
public enum SpeechArchitecture: String, Sendable, CaseIterable {
  /// OpenAI Whisper's encoder (`WhisperModel`, `WhisperForConditionalGeneration`, a bare
  /// `WhisperEncoder`): 50 frames per second after its final LayerNorm, padding not masked.
  case whisper
  /// Qwen2-Audio's audio tower: the Whisper-large-v3 encoder plus average pooling (kernel 2,
  /// stride 2) before its final LayerNorm, 25 frames per second, padded frames masked as keys.
  case qwen2Audio

  /// The `model_type` values in `config.json` that select this architecture.
  var modelTypes: [String] {
    switch self {
    case .whisper: ["whisper"]
    case .qwen2Audio: ["qwen2_audio", "qwen2_audio_encoder"]
    }
  }

  /// Prefixes under which the encoder's tensors may sit, tried in order (the first one whose
  /// `conv1.weight` exists wins): full model, base model, bare encoder.
  var weightPrefixes: [String] {
    switch self {
    case .whisper: ["model.encoder.", "encoder.", ""]
    case .qwen2Audio: ["audio_tower.", ""]
    }
  }

  /// Time stride of the pooling after the transformer layers (1 = none).
  var poolingStride: Int {
    switch self {
    case .whisper: 1
    case .qwen2Audio: 2
    }
  }
}

/// The encoder's sizes, decoded from a Hugging Face `config.json`.
///
/// For `qwen2_audio` the sizes come from its `audio_config`; keys that a config leaves out take the
/// defaults of the matching transformers config class (`WhisperConfig`, `Qwen2AudioEncoderConfig`).
public struct SpeechEncoderConfig: Sendable, Equatable {
  public var architecture: SpeechArchitecture
  /// Mel bins of the log-mel input (80 for most Whisper models, 128 for large-v3 and Qwen2-Audio).
  public var melBins: Int
  /// Width `D` of every frame.
  public var width: Int
  public var layers: Int
  public var heads: Int
  public var feedForwardWidth: Int
  /// Rows of `embed_positions.weight`: encoder positions per window after the stride-2 conv.
  public var positions: Int

  /// The stride of `conv2`, which halves the 100 Hz mel rate.
  static let convolutionStride = 2
  /// `eps` of every LayerNorm in these encoders (PyTorch's default).
  static let layerNormEpsilon: Float = 1e-5

  /// Encoder frames per second in the output that fusion sees: 50 for Whisper, 25 for Qwen2-Audio.
  public var framesPerSecond: Int {
    exactDivision(
      AudioFrontEnd.melFramesPerSecond, Self.convolutionStride * architecture.poolingStride)
  }

  public init(
    architecture: SpeechArchitecture, melBins: Int, width: Int, layers: Int, heads: Int,
    feedForwardWidth: Int, positions: Int
  ) {
    self.architecture = architecture
    self.melBins = melBins
    self.width = width
    self.layers = layers
    self.heads = heads
    self.feedForwardWidth = feedForwardWidth
    self.positions = positions
  }

  private struct Sizes: Decodable {
    var modelType: String?
    var numMelBins: Int?
    var dModel: Int?
    var encoderLayers: Int?
    var encoderAttentionHeads: Int?
    var encoderFfnDim: Int?
    var maxSourcePositions: Int?
    var activationFunction: String?
    var audioConfig: AudioConfig?

    final class AudioConfig: Decodable {
      let sizes: Sizes
      init(from decoder: Decoder) throws { sizes = try Sizes(from: decoder) }
    }

    enum CodingKeys: String, CodingKey {
      case modelType = "model_type"
      case numMelBins = "num_mel_bins"
      case dModel = "d_model"
      case encoderLayers = "encoder_layers"
      case encoderAttentionHeads = "encoder_attention_heads"
      case encoderFfnDim = "encoder_ffn_dim"
      case maxSourcePositions = "max_source_positions"
      case activationFunction = "activation_function"
      case audioConfig = "audio_config"
    }
  }

  /// Decodes and validates `config.json` at `path`.
  public init(contentsOf path: String) throws {
    func malformed(_ reason: String) -> SpeechError { .malformedConfig(path: path, reason: reason) }
    let data: Data
    do { data = try Data(contentsOf: URL(fileURLWithPath: path)) } catch {
      throw malformed("cannot read: \((error as NSError).localizedDescription)")
    }
    let top: Sizes
    do { top = try JSONDecoder().decode(Sizes.self, from: data) } catch {
      throw malformed("not a JSON object with integer sizes (\(error))")
    }
    guard let modelType = top.modelType else { throw malformed("no model_type") }
    guard
      let architecture = SpeechArchitecture.allCases.first(where: {
        $0.modelTypes.contains(modelType)
      })
    else { throw SpeechError.unsupportedModel(path: path, modelType: modelType) }

    // Defaults of transformers' WhisperConfig and Qwen2AudioEncoderConfig.
    let sizes: Sizes
    let defaults: SpeechEncoderConfig
    switch (architecture, modelType) {
    case (.whisper, _):
      sizes = top
      defaults = SpeechEncoderConfig(
        architecture: .whisper, melBins: 80, width: 384, layers: 4, heads: 6,
        feedForwardWidth: 1536, positions: 1500)
    case (.qwen2Audio, "qwen2_audio"):
      sizes = top.audioConfig?.sizes ?? Sizes()
      defaults = SpeechEncoderConfig(
        architecture: .qwen2Audio, melBins: 128, width: 1280, layers: 32, heads: 20,
        feedForwardWidth: 5120, positions: 1500)
    case (.qwen2Audio, _):
      sizes = top
      defaults = SpeechEncoderConfig(
        architecture: .qwen2Audio, melBins: 128, width: 1280, layers: 32, heads: 20,
        feedForwardWidth: 5120, positions: 1500)
    }
    self.init(
      architecture: architecture, melBins: sizes.numMelBins ?? defaults.melBins,
      width: sizes.dModel ?? defaults.width, layers: sizes.encoderLayers ?? defaults.layers,
      heads: sizes.encoderAttentionHeads ?? defaults.heads,
      feedForwardWidth: sizes.encoderFfnDim ?? defaults.feedForwardWidth,
      positions: sizes.maxSourcePositions ?? defaults.positions)

    let activation = sizes.activationFunction ?? "gelu"
    guard activation == "gelu" else {
      throw malformed("activation_function '\(activation)' is not supported (only 'gelu')")
    }
    for (name, value) in [
      ("num_mel_bins", melBins), ("d_model", width), ("encoder_layers", layers),
      ("encoder_attention_heads", heads), ("encoder_ffn_dim", feedForwardWidth),
      ("max_source_positions", positions),
    ] where value < 1 {
      throw malformed("\(name) must be positive, got \(value)")
    }
    guard width % heads == 0 else {
      throw malformed("encoder_attention_heads \(heads) does not divide d_model \(width)")
    }
    // The encoder takes exactly one 30 s window of mel frames, as transformers insists.
    let windowPositions = AudioFrontEnd.melFramesPerWindow / Self.convolutionStride
    guard positions == windowPositions else {
      throw malformed(
        "max_source_positions is \(positions), but a \(AudioFrontEnd.windowSeconds) s window has"
          + " \(windowPositions) encoder positions")
    }
  }

  /// Checks a `preprocessor_config.json` (a `WhisperFeatureExtractor` configuration) against the
  /// front end this module computes, so a checkpoint that expects other features is refused.
  static func checkPreprocessor(at path: String, melBins: Int) throws {
    guard FileManager.default.fileExists(atPath: path) else { return }
    func malformed(_ reason: String) -> SpeechError { .malformedConfig(path: path, reason: reason) }
    guard let data = FileManager.default.contents(atPath: path),
      let json = try? JSONSerialization.jsonObject(with: data) as? [String: Any]
    else { throw malformed("not a JSON object") }
    let expected: [(String, Int)] = [
      ("feature_size", melBins), ("sampling_rate", AudioFrontEnd.sampleRate),
      ("hop_length", AudioFrontEnd.hopLength), ("n_fft", AudioFrontEnd.fftSize),
      ("chunk_length", AudioFrontEnd.windowSeconds),
    ]
    for (key, value) in expected {
      if let stated = json[key] as? Int, stated != value {
        throw malformed("\(key) is \(stated), but this encoder needs \(value)")
      }
    }
    if let dither = json["dither"] as? Double, dither != 0 {
      throw malformed("dither \(dither) is not supported (features would be random)")
    }
  }
}
