import CLIP
import Foundation
import TestSupport
import Testing

private typealias Fixtures = PreprocessFixtures

/// What transformers resolved from each config directory (configs/expected.json).
private struct Resolved: Decodable {
  let doResize: Bool
  let size: [String: Int]
  let resample: Int
  let doCenterCrop: Bool
  let cropSize: [String: Int]
  let doRescale: Bool
  let rescaleFactor: Double
  let doNormalize: Bool
  let imageMean: [Double]
  let imageStd: [Double]
  let doConvertRgb: Bool

  static func all() throws -> [String: Resolved] {
    let url = Fixtures.directory.appendingPathComponent("configs/expected.json")
    let decoder = JSONDecoder()
    decoder.keyDecodingStrategy = .convertFromSnakeCase
    return try decoder.decode([String: Resolved].self, from: Data(contentsOf: url))
  }

  /// The config mmencode should decode: the stages transformers runs, with its values.
  var config: PreprocessorConfig {
    let target: PreprocessorConfig.ResizeTarget =
      size["shortest_edge"].map { .shortestEdge($0) } ?? .size(height: size["height"]!, width: size["width"]!)
    return PreprocessorConfig(
      convertToRGB: doConvertRgb,
      resize: doResize ? .init(target: target, filter: ResamplingFilter(rawValue: resample)!) : nil,
      centerCrop: doCenterCrop ? .init(height: cropSize["height"]!, width: cropSize["width"]!) : nil,
      rescaleFactor: doRescale ? rescaleFactor : nil,
      normalization: doNormalize ? .init(mean: imageMean, std: imageStd) : nil)
  }
}

private let configNames = [
  "se24_crop24", "se21_crop26x23", "hw15x18_bilinear_crop16", "openai_clip_vit_base_patch32", "defaults",
  "lists_and_scalars", "use_square_size", "longest_edge_ignored", "nulls_take_defaults",
]

@Test func everyConfigFixtureIsTested() throws {
  #expect(Set(try Resolved.all().keys) == Set(configNames))
}

@Test(arguments: configNames)
func configDecodesAsTransformersResolvesIt(name: String) throws {
  let expected = try #require(try Resolved.all()[name])
  #expect(try PreprocessorConfig.load(contentsOf: Fixtures.configPath(name)) == expected.config)
}

/// Configs with which transformers' preprocessing fails (configs/rejected.json, checked by the
/// generator); mmencode must refuse them when loading.
@Test func configsTransformersRejectsAreRejected() throws {
  let url = Fixtures.directory.appendingPathComponent("configs/rejected.json")
  let rejected = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: [String: Any]])
  #expect(rejected.count >= 9)
  for (name, entry) in rejected.sorted(by: { $0.key < $1.key }) {
    let json = try JSONSerialization.data(withJSONObject: try #require(entry["config"]))
    let error = try loadError(String(decoding: json, as: UTF8.self))
    guard case .invalidConfig = error else {
      Issue.record("\(name): expected invalidConfig, got \(String(describing: error))")
      continue
    }
  }
}

@Test(arguments: [
  (#"{"resample": 1}"#, "LANCZOS"),
  (#"{"resample": 0}"#, "NEAREST"),
  (#"{"resample": 4}"#, "BOX"),
  (#"{"resample": 5}"#, "HAMMING"),
  (#"{"crop_size": {"height": 0, "width": 5}}"#, "crop_size"),
  (#"{"size": "big"}"#, "size"),
  (#"{"size": [1, 2, 3]}"#, "size"),
  (#"{"do_resize": "yes"}"#, "do_resize"),
  (#"{"image_mean": "grey"}"#, "image_mean"),
  (#"{"use_square_size": true, "size": {"height": 3, "width": 4}}"#, "use_square_size"),
  (#"{"size": 224,"#, "JSON"),
])
func unusableConfigIsAOneLineErrorNamingFileAndKey(json: String, mention: String) throws {
  let error = try #require(try loadError(json))
  guard case .invalidConfig(let path, let reason) = error else {
    Issue.record("expected invalidConfig, got \(error)")
    return
  }
  let message = error.localizedDescription
  #expect(message.hasPrefix(path) && path.hasSuffix("preprocessor_config.json"))
  #expect(!message.contains("\n"))
  #expect(reason.contains(mention), "\(reason)")
}

@Test func disabledStagesAreNotValidated() throws {
  // As in transformers, an unusable resample or mean only matters when its stage runs.
  let config = try #require(try load(#"{"do_resize": false, "resample": 1, "do_normalize": false, "image_mean": [1]}"#))
  #expect(config.resize == nil && config.normalization == nil)
}

@Test func missingConfigFileIsUnreadable() {
  let path = Fixtures.directory.appendingPathComponent("configs/no-such/preprocessor_config.json").path
  #expect {
    try PreprocessorConfig.load(contentsOf: path)
  } throws: { error in
    guard case .unreadableConfig(let p, _) = error as? ImagePreprocessingError else { return false }
    return p == path
  }
}

/// Writes `json` to a temporary preprocessor_config.json and loads it.
private func load(_ json: String) throws -> PreprocessorConfig? {
  let directory = try makeTemporaryDirectory()
  defer { try? FileManager.default.removeItem(at: directory) }
  let path = directory.appendingPathComponent("preprocessor_config.json")
  try Data(json.utf8).write(to: path)
  return try PreprocessorConfig.load(contentsOf: path.path)
}

/// The error loading `json` throws, or nil when it loads.
private func loadError(_ json: String) throws -> ImagePreprocessingError? {
  do {
    _ = try load(json)
    return nil
  } catch let error as ImagePreprocessingError {
    return error
  }
}
