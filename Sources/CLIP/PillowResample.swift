// A port of Pillow 13.0's 8-bit resampling (libImaging/Resample.c: precompute_coeffs,
// normalize_coeffs_8bpc, ImagingResampleHorizontal/Vertical_8bpc, ImagingResampleInner), which is
// what `PIL.Image.resize` runs for RGB images with a convolution filter and no `reducing_gap`
// (transformers passes none). The result is bit-identical to Pillow's for the filters ported here.

import Core
import Media

/// The Pillow resampling filters that mmencode ports, with their `PIL.Image.Resampling` ids (the
/// `resample` value of `preprocessor_config.json`).
public enum ResamplingFilter: Int, Sendable, CaseIterable {
  case bilinear = 2
  case bicubic = 3

  /// Pillow's name for a `PIL.Image.Resampling` id, for messages about ids mmencode does not port.
  public static func pillowName(ofID id: Int) -> String {
    let names = ["NEAREST", "LANCZOS", "BILINEAR", "BICUBIC", "BOX", "HAMMING", "MKS2013", "MKS2021"]
    return names.indices.contains(id) ? names[id] : "unknown"
  }

  /// Half-width of the kernel in input samples when not downscaling.
  var support: Double {
    switch self {
    case .bilinear: 1
    case .bicubic: 2
    }
  }

  /// The kernel at distance `x` (in output-scaled input samples), evaluated in Pillow's operation
  /// order so the double results match bit for bit.
  @inline(__always)
  func weight(at x: Double) -> Double {
    let x = abs(x)
    switch self {
    case .bilinear:
      return x < 1 ? 1 - x : 0
    case .bicubic:
      // Keys' cubic convolution kernel with a = -0.5.
      let a = -0.5
      if x < 1 { return ((a + 2) * x - (a + 3)) * x * x + 1 }
      if x < 2 { return (((x - 5) * x + 8) * x - 4) * a }
      return 0
    }
  }
}

/// Fixed-point fraction bits of the weights: 32 bits less 8 for the sample and 2 of headroom for
/// negative lobes and partial sums above one (Pillow's PRECISION_BITS).
private let precisionBits: Int32 = 32 - 8 - 2
/// Starting value of every accumulator: one half, so the final shift rounds to nearest.
private let roundingHalf: Int32 = 1 << (precisionBits - 1)

/// The fixed-point weights that compute some of the samples of one axis resized from `inputSize`
/// to `outputSize` samples.
struct ResampleAxis: Sendable {
  /// The output samples these weights compute (a window of `0..<outputSize`).
  let outputs: Range<Int>
  /// First input sample of each output in `outputs`.
  let firstInput: [Int]
  /// Number of input samples of each output in `outputs`.
  let inputCount: [Int]
  /// Weights of output `i` (relative to `outputs.lowerBound`) start at `i * stride`.
  let stride: Int
  let weights: [Int32]

  init(inputSize: Int, outputSize: Int, outputs: Range<Int>, filter: ResamplingFilter) {
    precondition(inputSize > 0 && outputSize > 0 && outputs.clamped(to: 0..<outputSize) == outputs)
    // Pillow passes the source box as floats, subtracts in float, then divides in double.
    let scale = Double(Float(inputSize)) / Double(outputSize)
    // Downscaling widens the kernel by the scale factor, which is what makes it antialias.
    let filterScale = max(scale, 1)
    let support = filter.support * filterScale
    let stride = Int(support.rounded(.up)) * 2 + 1
    let inverseFilterScale = 1 / filterScale
    let fixedOne = Double(Int32(1) << precisionBits)

    var firstInput = [Int](), inputCount = [Int]()
    var weights = [Int32](repeating: 0, count: outputs.count * stride)
    var kernel = [Double](repeating: 0, count: stride)
    for (i, output) in outputs.enumerated() {
      let center = (Double(output) + 0.5) * scale
      // C's (int) casts truncate toward zero; Int(_:) does too.
      let first = max(Int(center - support + 0.5), 0)
      let end = min(Int(center + support + 0.5), inputSize)
      let count = end - first
      var total = 0.0
      for t in 0..<count {
        let w = filter.weight(at: (Double(t + first) - center + 0.5) * inverseFilterScale)
        kernel[t] = w
        total += w
      }
      for t in 0..<count {
        let w = total != 0 ? kernel[t] / total : kernel[t]
        // Round half away from zero, as normalize_coeffs_8bpc does.
        weights[i * stride + t] = Int32(w < 0 ? -0.5 + w * fixedOne : 0.5 + w * fixedOne)
      }
      firstInput.append(first)
      inputCount.append(count)
    }
    self.outputs = outputs
    self.firstInput = firstInput
    self.inputCount = inputCount
    self.stride = stride
    self.weights = weights
  }

  /// The input samples that the outputs read.
  var inputsUsed: Range<Int> {
    guard !outputs.isEmpty else { return 0..<0 }
    let lower = firstInput.min()!
    let upper = zip(firstInput, inputCount).map { $0 + $1 }.max()!
    return lower..<upper
  }
}

/// Resizes interleaved RGB images of one size to another exactly as Pillow's `Image.resize` does
/// with a convolution filter, computing only a window of the output.
///
/// Pillow runs two passes, each into a uint8 image (so values are rounded and clipped in
/// between), and skips the pass of an axis whose size does not change. Since Pillow 13 the order
/// depends on the sizes (see `verticalFirst`), and the order changes the bytes. Every output
/// sample depends only on its own row and column of weights, so computing a window (and only the
/// intermediate samples it reads) gives the same bytes as resizing the whole image and cropping.
/// The weights depend only on the sizes, so one resampler serves every frame of a video.
struct PillowResampler: Sendable {
  let inputWidth: Int
  let inputHeight: Int
  /// Output columns and rows computed.
  let columns: Range<Int>
  let rows: Range<Int>
  /// Nil when the width (height) does not change: Pillow then skips that pass.
  private let horizontal: ResampleAxis?
  private let vertical: ResampleAxis?
  /// Pillow 13 (ImagingResampleInner) resizes vertically first when the height shrinks by more
  /// than twice as many pixels as the width does; otherwise horizontally first.
  private let verticalFirst: Bool

  /// - Parameters:
  ///   - columns, rows: the window of the `outputWidth` x `outputHeight` output to compute.
  init(
    inputWidth: Int, inputHeight: Int, outputWidth: Int, outputHeight: Int,
    columns: Range<Int>, rows: Range<Int>, filter: ResamplingFilter
  ) {
    precondition(inputWidth > 0 && inputHeight > 0 && outputWidth > 0 && outputHeight > 0)
    precondition(columns.clamped(to: 0..<outputWidth) == columns && rows.clamped(to: 0..<outputHeight) == rows)
    self.inputWidth = inputWidth
    self.inputHeight = inputHeight
    self.columns = columns
    self.rows = rows
    horizontal =
      outputWidth == inputWidth
      ? nil : ResampleAxis(inputSize: inputWidth, outputSize: outputWidth, outputs: columns, filter: filter)
    vertical =
      outputHeight == inputHeight
      ? nil : ResampleAxis(inputSize: inputHeight, outputSize: outputHeight, outputs: rows, filter: filter)
    let heightShrink = inputHeight - outputHeight
    verticalFirst = heightShrink > 0 && heightShrink > 2 * (inputWidth - outputWidth)
  }

  /// Resamples `source` (`inputHeight` x `inputWidth` x 3, row-major) into `output`
  /// (`rows.count` x `columns.count` x 3).
  func resample(_ source: UnsafeBufferPointer<UInt8>, into output: UnsafeMutableBufferPointer<UInt8>) {
    precondition(source.count == inputWidth * inputHeight * rgbChannels)
    precondition(output.count == rows.count * columns.count * rgbChannels)
    guard !rows.isEmpty, !columns.isEmpty else { return }
    let input = Plane(
      base: source.baseAddress!, rowStride: inputWidth * rgbChannels, firstRow: 0, firstColumn: 0)
    let outputRowStride = columns.count * rgbChannels

    switch (horizontal, vertical) {
    case (nil, nil):
      for (i, row) in rows.enumerated() {
        let from = input.base + row * input.rowStride + columns.lowerBound * rgbChannels
        (output.baseAddress! + i * outputRowStride).update(from: from, count: outputRowStride)
      }
    case (let horizontal?, nil):
      resampleRows(input, rows: rows, into: output.baseAddress!, horizontal)
    case (nil, let vertical?):
      resampleColumns(input, columns: columns, into: output.baseAddress!, vertical)
    case (let horizontal?, let vertical?):
      // The intermediate image holds only the samples the second pass reads.
      let (tempRows, tempColumns) =
        verticalFirst ? (rows, horizontal.inputsUsed) : (vertical.inputsUsed, columns)
      let tempRowStride = tempColumns.count * rgbChannels
      let temp = UnsafeMutablePointer<UInt8>.allocate(capacity: tempRows.count * tempRowStride)
      defer { temp.deallocate() }
      let intermediate = Plane(
        base: UnsafePointer(temp), rowStride: tempRowStride, firstRow: tempRows.lowerBound,
        firstColumn: tempColumns.lowerBound)
      if verticalFirst {
        resampleColumns(input, columns: tempColumns, into: temp, vertical)
        resampleRows(intermediate, rows: rows, into: output.baseAddress!, horizontal)
      } else {
        resampleRows(input, rows: tempRows, into: temp, horizontal)
        resampleColumns(intermediate, columns: columns, into: output.baseAddress!, vertical)
      }
    }
  }

  /// Horizontal pass: resizes `rows` of `input` to the `axis.outputs` columns, writing them
  /// contiguously to `output`.
  private func resampleRows(
    _ input: Plane, rows: Range<Int>, into output: UnsafeMutablePointer<UInt8>, _ axis: ResampleAxis
  ) {
    let outputRowStride = axis.outputs.count * rgbChannels
    Threads.parallelFor(rows.count, grain: minimumRowsPerChunk) { chunk in
      axis.weights.withUnsafeBufferPointer { weights in
        axis.firstInput.withUnsafeBufferPointer { firstInput in
          axis.inputCount.withUnsafeBufferPointer { inputCount in
            for i in chunk {
              let line = input.base + (rows.lowerBound + i - input.firstRow) * input.rowStride
              let out = output + i * outputRowStride
              for x in 0..<axis.outputs.count {
                let k = weights.baseAddress! + x * axis.stride
                var pixel = line + (firstInput[x] - input.firstColumn) * rgbChannels
                var r = roundingHalf, g = roundingHalf, b = roundingHalf
                for t in 0..<inputCount[x] {
                  let w = k[t]
                  r &+= Int32(pixel[0]) &* w
                  g &+= Int32(pixel[1]) &* w
                  b &+= Int32(pixel[2]) &* w
                  pixel += rgbChannels
                }
                out[x * rgbChannels] = clip8(r)
                out[x * rgbChannels + 1] = clip8(g)
                out[x * rgbChannels + 2] = clip8(b)
              }
            }
          }
        }
      }
    }
  }

  /// Vertical pass: resizes `columns` of `input` to the `axis.outputs` rows, writing them
  /// contiguously to `output`.
  private func resampleColumns(
    _ input: Plane, columns: Range<Int>, into output: UnsafeMutablePointer<UInt8>, _ axis: ResampleAxis
  ) {
    let width = columns.count * rgbChannels
    let columnOffset = (columns.lowerBound - input.firstColumn) * rgbChannels
    Threads.parallelFor(axis.outputs.count, grain: minimumRowsPerChunk) { chunk in
      // Accumulating a whole row tap by tap keeps the inner loop contiguous (it vectorizes);
      // integer sums do not depend on order, so this equals Pillow's per-pixel loop.
      let sums = UnsafeMutablePointer<Int32>.allocate(capacity: width)
      defer { sums.deallocate() }
      axis.weights.withUnsafeBufferPointer { weights in
        for y in chunk {
          sums.initialize(repeating: roundingHalf, count: width)
          let k = weights.baseAddress! + y * axis.stride
          for t in 0..<axis.inputCount[y] {
            let w = k[t]
            let line = input.base + (axis.firstInput[y] + t - input.firstRow) * input.rowStride + columnOffset
            for i in 0..<width { sums[i] &+= Int32(line[i]) &* w }
          }
          let out = output + y * width
          for i in 0..<width { out[i] = clip8(sums[i]) }
        }
      }
    }
  }
}

/// An RGB image, or the part of one that is in memory: `base` points at pixel
/// (`firstColumn`, `firstRow`).
private struct Plane {
  let base: UnsafePointer<UInt8>
  let rowStride: Int
  let firstRow: Int
  let firstColumn: Int
}

/// The accumulated fixed-point value as a uint8, clipped (Pillow's clip8).
@inline(__always)
private func clip8(_ sum: Int32) -> UInt8 {
  UInt8(clamping: sum >> precisionBits)
}

/// Rows a chunk gets at least, so that small images are not split across threads.
private let minimumRowsPerChunk = 16

/// Resizes an RGB image to `width` x `height` as Pillow's `Image.resize(size, filter)` does.
///
/// - Parameter image: an 8-bit RGB image (use ``ImagePreprocessor/convertToRGB(_:alpha:)`` first).
/// - Returns: the `height` x `width` RGB result (a copy of the input when the size is unchanged).
public func pillowResize(_ image: PixelImage, width: Int, height: Int, filter: ResamplingFilter) -> PixelImage {
  pillowResize(image, width: width, height: height, columns: 0..<width, rows: 0..<height, filter: filter)
}

/// The `rows` x `columns` window of ``pillowResize(_:width:height:filter:)``, computed without
/// the rest of the output.
package func pillowResize(
  _ image: PixelImage, width: Int, height: Int, columns: Range<Int>, rows: Range<Int>, filter: ResamplingFilter
) -> PixelImage {
  precondition(image.format == .rgb, "pillowResize needs an RGB image, got \(image.format)")
  let resampler = PillowResampler(
    inputWidth: image.width, inputHeight: image.height, outputWidth: width, outputHeight: height,
    columns: columns, rows: rows, filter: filter)
  let count = rows.count * columns.count * rgbChannels
  let pixels = [UInt8](unsafeUninitializedCapacity: count) { output, initialized in
    image.pixels.withUnsafeBufferPointer { resampler.resample($0, into: output) }
    initialized = count
  }
  return PixelImage(width: columns.count, height: rows.count, format: .rgb, pixels: pixels)
}
