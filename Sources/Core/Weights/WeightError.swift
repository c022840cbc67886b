import Foundation

/// Why a weight or array file could not be read or did not fit the model that asked for it.
///
/// Every case names the file, so the CLI can print the error as one line.
public enum WeightError: Error, Equatable, LocalizedError {
  /// The file could not be opened or read (missing, permissions, a directory, ...).
  case unreadable(path: String, reason: String)
  /// The file could not be written.
  case unwritable(path: String, reason: String)
  /// The bytes are not a valid file of the expected format.
  case malformed(path: String, reason: String)
  /// A tensor is stored in a dtype this reader does not convert.
  case unsupportedDType(path: String, key: String, dtype: String)
  /// The model needs a tensor that the checkpoint does not have.
  case missingTensor(path: String, key: String)
  /// A tensor exists but its shape is not the one the model needs.
  case shapeMismatch(path: String, key: String, expected: [Int], actual: [Int])
  /// The checkpoint holds tensors that the model did not use (strict loading).
  case unusedTensors(path: String, keys: [String])

  public var errorDescription: String? {
    switch self {
    case .unreadable(let path, let reason): "\(path): cannot read: \(reason)"
    case .unwritable(let path, let reason): "\(path): cannot write: \(reason)"
    case .malformed(let path, let reason): "\(path): malformed: \(reason)"
    case .unsupportedDType(let path, let key, let dtype):
      "\(path): tensor '\(key)' has unsupported dtype \(dtype)"
    case .missingTensor(let path, let key): "\(path): missing tensor '\(key)'"
    case .shapeMismatch(let path, let key, let expected, let actual):
      "\(path): tensor '\(key)' has shape \(actual), expected \(expected)"
    case .unusedTensors(let path, let keys):
      "\(path): \(keys.count) unused tensor(s): "
        + keys.prefix(5).joined(separator: ", ") + (keys.count > 5 ? ", ..." : "")
    }
  }
}
