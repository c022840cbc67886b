// The settings of transformers' CLIPImageProcessor (models/clip/image_processing_clip.py,
// transformers 4.57), read from `preprocessor_config.json` with the defaults, legacy spellings and
// validation of that class. transformers 5.24's CLIPImageProcessorPil reads three legacy forms
// differently (null mean/std is an error, `longest_edge` next to `shortest_edge` caps the long
// side, `use_square_size` squares the class default 224 instead of the config's size); mmencode
// keeps 4.57's reading of those.

import Core
import Foundation

/// How images are turned into CLIP `pixel_values`, as `preprocessor_config.json` describes it.
///
/// Each optional stage is nil when its `do_*` flag is false. Values are resolved as
/// `CLIPImageProcessor` resolves them: integer and `[height, width]` sizes, a scalar mean or std
/// applying to every channel, missing keys taking the class defaults (openai/clip-vit-base-patch32's
/// values), and a null `do_*` flag meaning false.
public struct PreprocessorConfig: Sendable, Equatable {
  /// What the resize stage scales to.
  public enum ResizeTarget: Sendable, Equatable {
    /// Scale so the shorter side gets this length, keeping the aspect ratio.
    case shortestEdge(Int)
    /// Scale to exactly this size.
    case size(height: Int, width: Int)

    /// The resized size of a `width` x `height` image, as transformers'
    /// `get_resize_output_image_size` computes it: the longer side is truncated, so 1280x720 with
    /// shortest edge 224 becomes 398x224.
    public func outputSize(width: Int, height: Int) -> (width: Int, height: Int) {
      switch self {
      case .size(let h, let w):
        return (w, h)
      case .shortestEdge(let edge):
        let (short, long) = width <= height ? (width, height) : (height, width)
        // Python's int / int is a correctly rounded double division; int() truncates.
        let newLong = Int(Double(edge * long) / Double(short))
        return width <= height ? (edge, newLong) : (newLong, edge)
      }
    }
  }

  public struct Resize: Sendable, Equatable {
    public var target: ResizeTarget
    public var filter: ResamplingFilter

    public init(target: ResizeTarget, filter: ResamplingFilter) {
      self.target = target
      self.filter = filter
    }
  }

  public struct CropSize: Sendable, Equatable {
    public var height: Int
    public var width: Int

    public init(height: Int, width: Int) {
      self.height = height
      self.width = width
    }
  }

  /// Per-channel mean and standard deviation, RGB order.
  public struct Normalization: Sendable, Equatable {
    public var mean: [Double]
    public var std: [Double]

    public init(mean: [Double], std: [Double]) {
      precondition(mean.count == Self.channels && std.count == Self.channels, "normalization needs 3 values")
      self.mean = mean
      self.std = std
    }

    /// Preprocessing always produces RGB.
    static let channels = 3
    /// OpenAI CLIP's statistics (transformers' OPENAI_CLIP_MEAN / OPENAI_CLIP_STD).
    public static let openAICLIP = Normalization(
      mean: [0.48145466, 0.4578275, 0.40821073], std: [0.26862954, 0.26130258, 0.27577711])
  }

  /// Convert to RGB before anything else (`do_convert_rgb`).
  public var convertToRGB: Bool
  /// What that conversion does with alpha. Not a `preprocessor_config.json` key: transformers
  /// decides it by version (4.57 drops alpha, 5 composites onto white); mmencode composites unless
  /// told otherwise.
  public var alphaPolicy: AlphaPolicy
  public var resize: Resize?
  public var centerCrop: CropSize?
  /// Multiplies the uint8 samples (in double precision, then rounded to float).
  public var rescaleFactor: Double?
  public var normalization: Normalization?

  /// `CLIPImageProcessor`'s defaults, unless overridden.
  public init(
    convertToRGB: Bool = true,
    alphaPolicy: AlphaPolicy = Self.defaultAlphaPolicy,
    resize: Resize? = Resize(target: .shortestEdge(Self.defaultEdge), filter: .bicubic),
    centerCrop: CropSize? = CropSize(height: Self.defaultEdge, width: Self.defaultEdge),
    rescaleFactor: Double? = Self.defaultRescaleFactor,
    normalization: Normalization? = .openAICLIP
  ) {
    self.convertToRGB = convertToRGB
    self.alphaPolicy = alphaPolicy
    self.resize = resize
    self.centerCrop = centerCrop
    self.rescaleFactor = rescaleFactor
    self.normalization = normalization
  }

  /// transformers' default shortest edge and crop side.
  public static let defaultEdge = 224
  /// Maps uint8 samples to [0, 1].
  public static let defaultRescaleFactor = 1.0 / 255
  /// transformers 5's behaviour, the current reference.
  public static let defaultAlphaPolicy = AlphaPolicy.compositeOnWhite

  /// Reads `preprocessor_config.json` (or any file in that format).
  public static func load(contentsOf path: String) throws -> PreprocessorConfig {
    let data: Data
    do {
      data = try Data(contentsOf: URL(fileURLWithPath: path))
    } catch {
      throw ImagePreprocessingError.unreadableConfig(path: path, reason: describe(error))
    }
    do {
      return try JSONDecoder().decode(PreprocessorConfig.self, from: data)
    } catch let error as DecodingError {
      throw ImagePreprocessingError.invalidConfig(path: path, reason: summary(of: error))
    }
  }
}

extension PreprocessorConfig: Decodable {
  private enum Key: String, CodingKey {
    case doResize = "do_resize", size, resample, useSquareSize = "use_square_size"
    case doCenterCrop = "do_center_crop", cropSize = "crop_size"
    case doRescale = "do_rescale", rescaleFactor = "rescale_factor"
    case doNormalize = "do_normalize", imageMean = "image_mean", imageStd = "image_std"
    case doConvertRGB = "do_convert_rgb"
  }

  private typealias JSON = KeyedDecodingContainer<Key>

  /// Decodes and validates as `CLIPImageProcessor.__init__` and `preprocess` do; settings of a
  /// disabled stage are not checked, as there.
  public init(from decoder: any Decoder) throws {
    let json = try decoder.container(keyedBy: Key.self)
    convertToRGB = try Self.flag(json, .doConvertRGB)
    alphaPolicy = Self.defaultAlphaPolicy
    resize = try Self.resize(json)
    centerCrop = try Self.centerCrop(json)
    rescaleFactor = try Self.rescaleFactor(json)
    normalization = try Self.normalization(json)
  }

  private static func resize(_ json: JSON) throws -> Resize? {
    // The size dictionary is built and its keys checked even when resizing is off.
    var size = try sizeDictionary(json, .size, integerMeans: "shortest_edge") ?? ["shortest_edge": defaultEdge]
    if try json.decodeIfPresent(Bool.self, forKey: .useSquareSize) == true {
      guard let edge = size["shortest_edge"] else {
        throw invalid(json, .useSquareSize, "use_square_size needs size.shortest_edge")
      }
      size = ["height": edge, "width": edge]
    }
    guard try flag(json, .doResize) else { return nil }

    let target: ResizeTarget
    // CLIPImageProcessor.resize reads only shortest_edge when it is there, even next to longest_edge.
    if let edge = size["shortest_edge"] {
      target = .shortestEdge(try positive(json, edge, .size, "shortest_edge"))
    } else if let height = size["height"], let width = size["width"] {
      target = .size(
        height: try positive(json, height, .size, "height"), width: try positive(json, width, .size, "width"))
    } else {
      throw invalid(json, .size, "resizing needs shortest_edge, or height and width; got \(keys(size))")
    }

    guard json.contains(.resample) else { return Resize(target: target, filter: .bicubic) }
    guard let id = try json.decodeIfPresent(Int.self, forKey: .resample) else {
      throw invalid(json, .resample, "resample is null but do_resize is true")
    }
    guard let filter = ResamplingFilter(rawValue: id) else {
      let ported = ResamplingFilter.allCases.map { "\($0.rawValue) (\(ResamplingFilter.pillowName(ofID: $0.rawValue)))" }
      throw invalid(
        json, .resample,
        "resample \(id) (\(ResamplingFilter.pillowName(ofID: id))) is not supported; mmencode ports "
          + ported.joined(separator: " and "))
    }
    return Resize(target: target, filter: filter)
  }

  private static func centerCrop(_ json: JSON) throws -> CropSize? {
    let crop = try sizeDictionary(json, .cropSize, integerMeans: nil) ?? ["height": defaultEdge, "width": defaultEdge]
    guard try flag(json, .doCenterCrop) else { return nil }
    guard let height = crop["height"], let width = crop["width"] else {
      throw invalid(json, .cropSize, "the centre crop needs height and width; got \(keys(crop))")
    }
    // transformers returns an empty array for a zero crop; mmencode refuses it.
    return CropSize(
      height: try positive(json, height, .cropSize, "height"), width: try positive(json, width, .cropSize, "width"))
  }

  private static func rescaleFactor(_ json: JSON) throws -> Double? {
    guard try flag(json, .doRescale) else { return nil }
    guard json.contains(.rescaleFactor) else { return defaultRescaleFactor }
    guard let factor = try json.decodeIfPresent(Double.self, forKey: .rescaleFactor) else {
      throw invalid(json, .rescaleFactor, "rescale_factor is null but do_rescale is true")
    }
    return factor
  }

  private static func normalization(_ json: JSON) throws -> Normalization? {
    guard try flag(json, .doNormalize) else { return nil }
    let defaults = Normalization.openAICLIP
    return Normalization(
      mean: try perChannel(json, .imageMean) ?? defaults.mean, std: try perChannel(json, .imageStd) ?? defaults.std)
  }

  /// A `do_*` flag: true when missing (every stage is on by default); null is falsy in Python.
  private static func flag(_ json: JSON, _ key: Key) throws -> Bool {
    guard json.contains(key) else { return true }
    return try json.decodeIfPresent(Bool.self, forKey: key) ?? false
  }

  /// The dictionary transformers' `get_size_dict` makes, or nil when the key is missing or null.
  /// An integer becomes `[integerMeans: n]`, or a square when `integerMeans` is nil.
  private static func sizeDictionary(_ json: JSON, _ key: Key, integerMeans: String?) throws -> [String: Int]? {
    guard let value = try json.decodeIfPresent(SizeValue.self, forKey: key) else { return nil }
    let dictionary: [String: Int]
    switch value {
    case .integer(let n):
      dictionary = integerMeans.map { [$0: n] } ?? ["height": n, "width": n]
    case .list(let list):
      guard list.count == 2 else { throw invalid(json, key, "a list size must be [height, width], got \(list)") }
      dictionary = ["height": list[0], "width": list[1]]
    case .dictionary(let d):
      dictionary = d
    }
    guard validSizeKeySets.contains(Set(dictionary.keys)) else {
      throw invalid(json, key, "unknown key set \(keys(dictionary)) for a size")
    }
    return dictionary
  }

  /// Mean or std: one number for all channels or one per channel; nil when missing or null.
  private static func perChannel(_ json: JSON, _ key: Key) throws -> [Double]? {
    let channels = Normalization.channels
    if let scalar = try? json.decodeIfPresent(Double.self, forKey: key) {
      return [Double](repeating: scalar, count: channels)
    }
    guard let values = try json.decodeIfPresent([Double].self, forKey: key) else { return nil }
    guard values.count == channels else {
      throw invalid(json, key, "\(key.stringValue) must have \(channels) values (RGB), got \(values.count)")
    }
    return values
  }

  private static func positive(_ json: JSON, _ value: Int, _ key: Key, _ name: String) throws -> Int {
    guard value > 0 else { throw invalid(json, key, "\(name) must be positive, got \(value)") }
    return value
  }

  private static func invalid(_ json: JSON, _ key: Key, _ message: String) -> DecodingError {
    DecodingError.dataCorruptedError(forKey: key, in: json, debugDescription: message)
  }
}

/// Key sets transformers accepts for a size dictionary (VALID_SIZE_DICT_KEYS).
private let validSizeKeySets: [Set<String>] = [
  ["height", "width"], ["shortest_edge"], ["shortest_edge", "longest_edge"], ["longest_edge"],
  ["max_height", "max_width"],
]

private func keys(_ dictionary: [String: Int]) -> String {
  "{" + dictionary.keys.sorted().joined(separator: ", ") + "}"
}

/// A size as the JSON may spell it: an integer, a `[height, width]` list or a dictionary.
private enum SizeValue: Decodable {
  case integer(Int)
  case list([Int])
  case dictionary([String: Int])

  init(from decoder: any Decoder) throws {
    let value = try decoder.singleValueContainer()
    if let n = try? value.decode(Int.self) {
      self = .integer(n)
    } else if let list = try? value.decode([Int].self) {
      self = .list(list)
    } else if let dictionary = try? value.decode([String: Int].self) {
      self = .dictionary(dictionary)
    } else {
      throw DecodingError.dataCorruptedError(
        in: value, debugDescription: "expected an integer, a [height, width] list or a dictionary of integers")
    }
  }
}

/// One line for a JSON decoding failure: the key path and what was wrong.
private func summary(of error: DecodingError) -> String {
  let context: DecodingError.Context
  switch error {
  case .typeMismatch(_, let c), .valueNotFound(_, let c), .keyNotFound(_, let c), .dataCorrupted(let c):
    context = c
  @unknown default:
    return "\(error)"
  }
  let path = context.codingPath.map(\.stringValue).joined(separator: ".")
  var message = context.debugDescription
  if let underlying = context.underlyingError as NSError?, path.isEmpty {
    message += " " + underlying.localizedDescription
  }
  return path.isEmpty ? message : "\(path): \(message)"
}
