import Core
import Foundation

/// Encoder frames computed elsewhere, for fusion alone (`mmencode fuse`).
public enum FramesFile {
  /// The tensor a `.safetensors` frames file holds (what `mmencode speech --frames` writes).
  public static let tensorName = "frames"

  /// Reads frames `[T, D]` from `path`: a `.npy` file of float16, float32 or float64, or a
  /// `.safetensors` file with a ``tensorName`` tensor of F16, BF16, F32 or F64. Values are
  /// converted to Float32, the precision fusion runs in.
  ///
  /// Throws ``SpeechError/invalidFramesFile(path:reason:)`` for another extension, another rank
  /// or zero-width frames, and `WeightError` for unreadable files and integer dtypes.
  public static func read(_ path: String) throws -> Tensor {
    let frames: Tensor
    switch (path as NSString).pathExtension.lowercased() {
    case "npy":
      frames = try NPY.readTensor(path)
    case "safetensors":
      let array = try SafeTensorsFile(path: path).array(tensorName)
      switch array.values {
      case .float32(let values): frames = Tensor(shape: array.shape, scalars: values)
      case .float64(let values): frames = Tensor(shape: array.shape, scalars: values.map { Float($0) })
      case .int64:
        throw WeightError.unsupportedDType(path: path, key: tensorName, dtype: "I64")
      }
    default:
      throw SpeechError.invalidFramesFile(
        path: path, reason: "expected a .npy file or a .safetensors file with a '\(tensorName)' tensor")
    }
    guard frames.rank == 2 else {
      throw SpeechError.invalidFramesFile(path: path, reason: "expected [T, D] frames, got shape \(frames.shape)")
    }
    guard frames.shape[1] > 0 else {
      throw SpeechError.invalidFramesFile(path: path, reason: "frames have width 0 (shape \(frames.shape))")
    }
    return frames
  }
}
