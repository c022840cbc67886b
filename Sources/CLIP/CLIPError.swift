import Foundation

/// Why a CLIP checkpoint could not be loaded or an input could not be encoded.
///
/// Every case prints as one line; cases about files name the file. Problems inside the weight file
/// itself (missing or unused tensors, wrong shapes or dtypes) are Core's ``WeightError``, which
/// names the file and the tensor.
public enum CLIPError: Error, Equatable, LocalizedError {
  /// A file the checkpoint needs is not there.
  case missingFile(path: String)
  /// `config.json` is not valid JSON, has a value of the wrong type, or describes an impossible
  /// model (heads that do not divide the width, a patch larger than the image, ...).
  case invalidConfig(path: String, reason: String)
  /// `config.json` names a `model_type` that no registered loader reads.
  case unknownModelType(path: String, modelType: String, known: [String])
  /// The checkpoint is valid but lacks the tower that was asked for (a text-only checkpoint
  /// loaded as an image encoder, say).
  case missingTower(path: String, modelType: String, tower: String)
  /// The token ids, mask or pixels handed to an encoder do not fit the model.
  case invalidInput(reason: String)

  public var errorDescription: String? {
    switch self {
    case .missingFile(let path): "\(path): no such file"
    case .invalidConfig(let path, let reason): "\(path): invalid config: \(reason)"
    case .unknownModelType(let path, let modelType, let known):
      "\(path): unknown model_type '\(modelType)' (known: \(known.joined(separator: ", ")))"
    case .missingTower(let path, let modelType, let tower):
      "\(path): model_type '\(modelType)' has no \(tower) tower"
    case .invalidInput(let reason): "invalid input: \(reason)"
    }
  }
}
