// Port of transformers' PIL-based CLIP image processing: the slow CLIPImageProcessor.preprocess
// of 4.57 (models/clip/image_processing_clip.py with image_transforms.py's convert_to_rgb, resize,
// center_crop, rescale and normalize) and CLIPImageProcessorPil of 5.24 (image_processing_pil_clip.py
// on image_processing_backends.PilBackend), which resize through Pillow. The two differ only in the
// RGB conversion (see AlphaPolicy) and in how some configs are read (see PreprocessorConfig).

import Core
import Foundation
import Media

/// Turns images into CLIP `pixel_values` exactly as transformers' PIL-based CLIP image processor
/// does: RGB conversion (alpha composited onto white or dropped, as `config.alphaPolicy` says),
/// resize with Pillow's resampling, centre crop with zero padding, rescale, normalize.
///
/// The uint8 image after the resize step is bit-identical to Pillow's, and so are the final
/// float32 values. Only the cropped window of the resized image is computed, and the resize
/// weights are computed once per input size, so a stream of same-sized video frames pays for
/// them once. Safe to share between threads.
///
/// One deliberate difference from transformers 4.57: it guesses the channel axis from the array
/// shape and takes an image whose height is 1 or 3 for channels-first (it then fails or returns
/// garbage); here, as in transformers 5's PIL path, such images are processed like any other.
public struct ImagePreprocessor: Sendable {
  public let config: PreprocessorConfig
  /// Final value of each (channel, uint8 sample): rescale and normalize only ever see uint8
  /// inputs, so a table reproduces their float arithmetic exactly. Indexed `channel * 256 + sample`.
  private let values: [Float]
  private let plans = PlanCache()

  public init(config: PreprocessorConfig) {
    self.config = config
    values = (0..<rgbChannels).flatMap { channel in
      (0...Int(UInt8.max)).map { sample in
        // transformers' rescale multiplies in float64 and then casts to float32.
        var value = config.rescaleFactor.map { Float(Double(sample) * $0) } ?? Float(sample)
        // normalize works in float32, with mean and std cast to float32.
        if let n = config.normalization {
          value = (value - Float(n.mean[channel])) / Float(n.std[channel])
        }
        return value
      }
    }
  }

  /// Reads the config from `preprocessor_config.json` (or another file in that format).
  public init(contentsOf path: String) throws {
    self.init(config: try PreprocessorConfig.load(contentsOf: path))
  }

  /// The `[3, height, width]` shape `preprocess` gives a `width` x `height` image (both positive).
  public func outputShape(width: Int, height: Int) -> [Int] {
    plan(width: width, height: height).shape
  }

  /// `pixel_values` of one image.
  ///
  /// - Returns: `[3, H, W]` float32, channels RGB; H x W is the crop size when the config crops.
  public func preprocess(_ image: PixelImage) throws -> Tensor {
    let plan = try checkedPlan(image)
    return Tensor(uninitializedShape: plan.shape) { out in
      write(image, plan, into: out)
    }
  }

  /// `pixel_values` of a batch.
  ///
  /// - Returns: `[N, 3, H, W]` float32. Every image must preprocess to the same shape, which a
  ///   centre crop guarantees.
  public func preprocess(_ images: [PixelImage]) throws -> Tensor {
    guard !images.isEmpty else {
      let crop = config.centerCrop
      return Tensor(shape: [0, rgbChannels, crop?.height ?? 0, crop?.width ?? 0], scalars: [])
    }
    let plans = try images.map(checkedPlan)
    let shape = plans[0].shape
    for (index, plan) in plans.enumerated() where plan.shape != shape {
      throw ImagePreprocessingError.mismatchedShapes(index: index, shape: plan.shape, expected: shape)
    }
    let size = shape.reduce(1, *)
    return Tensor(uninitializedShape: [images.count] + shape) { out in
      for (index, image) in images.enumerated() {
        write(image, plans[index], into: UnsafeMutableBufferPointer(rebasing: out[(index * size)..<((index + 1) * size)]))
      }
    }
  }

  // MARK: - Pipeline

  private func checkedPlan(_ image: PixelImage) throws -> Plan {
    guard image.width > 0, image.height > 0 else {
      throw ImagePreprocessingError.emptyImage(width: image.width, height: image.height)
    }
    guard config.convertToRGB || image.format == .rgb else {
      throw ImagePreprocessingError.notRGB(format: image.format)
    }
    return plan(width: image.width, height: image.height)
  }

  /// Writes `[3, plan.outputHeight, plan.outputWidth]` values of `image` into `out`.
  private func write(_ image: PixelImage, _ plan: Plan, into out: UnsafeMutableBufferPointer<Float>) {
    let rgb = Self.convertToRGB(image, alpha: config.alphaPolicy)
    let windowWidth = plan.resampler.columns.count
    let windowHeight = plan.resampler.rows.count
    var window = [UInt8](repeating: 0, count: windowWidth * windowHeight * rgbChannels)
    window.withUnsafeMutableBufferPointer { window in
      rgb.pixels.withUnsafeBufferPointer { plan.resampler.resample($0, into: window) }
    }
    let (height, width) = (plan.outputHeight, plan.outputWidth)
    values.withUnsafeBufferPointer { values in
      window.withUnsafeBufferPointer { window in
        for channel in 0..<rgbChannels {
          let table = values.baseAddress! + channel * (Int(UInt8.max) + 1)
          let plane = out.baseAddress! + channel * height * width
          // Zero padding happens on the uint8 image, before rescale and normalize.
          plane.initialize(repeating: table[0], count: height * width)
          for y in 0..<windowHeight {
            let row = plane + (plan.windowTop + y) * width + plan.windowLeft
            let samples = window.baseAddress! + y * windowWidth * rgbChannels + channel
            for x in 0..<windowWidth { row[x] = table[Int(samples[x * rgbChannels])] }
          }
        }
      }
    }
  }

  /// Everything that depends only on the input size, cached per size.
  private func plan(width: Int, height: Int) -> Plan {
    plans.plan(width: width, height: height) { Plan(config: config, width: width, height: height) }
  }
}

/// Channels of the output: the pipeline works in RGB.
let rgbChannels = 3

/// The geometry of one input size: resized size, the crop window and the resampler computing it.
private struct Plan: Sendable {
  /// Output height and width: the crop size, or the resized size without a crop.
  let outputHeight: Int
  let outputWidth: Int
  /// Where the computed window of the resized image lands in the output; the rest is padding.
  let windowTop: Int
  let windowLeft: Int
  let resampler: PillowResampler

  /// `[3, outputHeight, outputWidth]`
  var shape: [Int] { [rgbChannels, outputHeight, outputWidth] }

  init(config: PreprocessorConfig, width: Int, height: Int) {
    let resized =
      config.resize.map { $0.target.outputSize(width: width, height: height) } ?? (width: width, height: height)
    let rows: Range<Int>, columns: Range<Int>
    if let crop = config.centerCrop {
      // transformers' centre crop: offset floor((resized - crop) / 2), negative when the crop is
      // larger; it then pads with zeros by ceil(difference / 2) before, which maps output row y to
      // resized row offset + y in both cases.
      let top = floorHalf(resized.height - crop.height)
      let left = floorHalf(resized.width - crop.width)
      rows = max(top, 0)..<min(top + crop.height, resized.height)
      columns = max(left, 0)..<min(left + crop.width, resized.width)
      (outputHeight, outputWidth) = (crop.height, crop.width)
      (windowTop, windowLeft) = (rows.lowerBound - top, columns.lowerBound - left)
    } else {
      rows = 0..<resized.height
      columns = 0..<resized.width
      (outputHeight, outputWidth) = (resized.height, resized.width)
      (windowTop, windowLeft) = (0, 0)
    }
    resampler = PillowResampler(
      inputWidth: width, inputHeight: height, outputWidth: resized.width, outputHeight: resized.height,
      columns: columns, rows: rows, filter: config.resize?.filter ?? .bicubic)
  }
}

/// Python's `n // 2` (rounds toward negative infinity).
private func floorHalf(_ n: Int) -> Int {
  n >= 0 ? n / 2 : -((-n + 1) / 2)
}

/// Plans of recently seen input sizes.
private final class PlanCache: @unchecked Sendable {
  /// A video has one size and a folder of photos a few; beyond this the cache starts over.
  private static let capacity = 16
  private let lock = NSLock()
  private var plans: [Size: Plan] = [:]

  private struct Size: Hashable {
    let width: Int
    let height: Int
  }

  func plan(width: Int, height: Int, make: () -> Plan) -> Plan {
    let key = Size(width: width, height: height)
    lock.lock()
    defer { lock.unlock() }
    if let plan = plans[key] { return plan }
    if plans.count >= Self.capacity { plans.removeAll() }
    let plan = make()
    plans[key] = plan
    return plan
  }
}
