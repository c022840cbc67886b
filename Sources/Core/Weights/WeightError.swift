import Foundation

/// Why a weight or array file could not be read or written, or did not fit the model that asked
/// for it.
///
/// Every case names the file (or the model reference), so the CLI can print the error as one line.
public enum WeightError: Error, Equatable, LocalizedError {
  /// The file could not be opened or read (missing, permissions, a directory, ...).
  case unreadable(path: String, reason: String)
  /// The file could not be written.
  case unwritable(path: String, reason: String)
  /// The bytes are not a valid file of the expected format (formats without a defect enum of
  /// their own, such as a checkpoint index).
  case malformed(path: String, reason: String)
  /// The file is not a valid safetensors file.
  case invalidSafeTensors(path: String, SafeTensorsDefect)
  /// The file is not a `.npy` file that mmencode reads.
  case invalidNPY(path: String, NPYDefect)
  /// A tensor is stored in a dtype this reader does not convert.
  case unsupportedDType(path: String, key: String, dtype: String)
  /// The model needs a tensor that the checkpoint does not have.
  case missingTensor(path: String, key: String)
  /// A tensor exists but its shape is not the one the model needs.
  case shapeMismatch(path: String, key: String, expected: [Int], actual: [Int])
  /// The checkpoint holds tensors that the model did not use (strict loading).
  case unusedTensors(path: String, keys: [String])
  /// A Hugging Face repo id that the local cache does not hold (mmencode never downloads).
  case modelNotInCache(repo: String, revision: String?, cache: String)

  public var errorDescription: String? {
    switch self {
    case .unreadable(let path, let reason): "\(path): cannot read: \(reason)"
    case .unwritable(let path, let reason): "\(path): cannot write: \(reason)"
    case .malformed(let path, let reason): "\(path): malformed: \(reason)"
    case .invalidSafeTensors(let path, let defect):
      "\(path): not a valid safetensors file: \(defect)"
    case .invalidNPY(let path, let defect): "\(path): not a readable .npy file: \(defect)"
    case .unsupportedDType(let path, let key, let dtype):
      "\(path): tensor '\(key)' has unsupported dtype \(dtype)"
    case .missingTensor(let path, let key): "\(path): missing tensor '\(key)'"
    case .shapeMismatch(let path, let key, let expected, let actual):
      "\(path): tensor '\(key)' has shape \(actual), expected \(expected)"
    case .unusedTensors(let path, let keys):
      "\(path): \(keys.count) unused tensor(s): "
        + keys.prefix(5).joined(separator: ", ") + (keys.count > 5 ? ", ..." : "")
    case .modelNotInCache(let repo, let revision, let cache):
      modelNotInCacheMessage(repo: repo, revision: revision, cache: cache)
    }
  }
}

private func modelNotInCacheMessage(repo: String, revision: String?, cache: String) -> String {
  let at = revision.map { "@\($0)" } ?? ""
  let flag = revision.map { " --revision \($0)" } ?? ""
  return "\(repo)\(at): not a local directory and not in the Hugging Face cache (\(cache)); "
    + "download it with `hf download \(repo)\(flag)` (or `huggingface-cli download \(repo)\(flag)`), "
    + "or pass the path of a directory holding config.json and the weights"
}
