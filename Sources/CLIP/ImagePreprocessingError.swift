import Foundation
import Media

/// Why a `preprocessor_config.json` could not be used or an image could not be preprocessed.
public enum ImagePreprocessingError: Error, Equatable, LocalizedError {
  /// The config file could not be read.
  case unreadableConfig(path: String, reason: String)
  /// The config is not valid JSON, has a value of the wrong type, or asks for something that
  /// transformers rejects or mmencode does not implement; `reason` names the key.
  case invalidConfig(path: String, reason: String)
  /// The image has no pixels.
  case emptyImage(width: Int, height: Int)
  /// `do_convert_rgb` is false and the image is not RGB (transformers fails on such images too).
  case notRGB(format: PixelImage.Format)
  /// Images of one batch preprocess to different shapes (possible only without a centre crop).
  case mismatchedShapes(index: Int, shape: [Int], expected: [Int])

  public var errorDescription: String? {
    switch self {
    case .unreadableConfig(let path, let reason): "\(path): cannot read: \(reason)"
    case .invalidConfig(let path, let reason): "\(path): invalid preprocessor config: \(reason)"
    case .emptyImage(let width, let height): "image is empty (\(width)x\(height))"
    case .notRGB(let format):
      "image is \(format.rawValue), not RGB, and the preprocessor config sets do_convert_rgb to false"
    case .mismatchedShapes(let index, let shape, let expected):
      "image \(index) preprocesses to shape \(shape), unlike the batch's \(expected) (the config has no centre crop)"
    }
  }
}
