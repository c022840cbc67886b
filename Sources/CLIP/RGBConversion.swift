// The RGB conversion that starts preprocessing, in the two forms transformers has used:
// transformers 5's image_transforms.convert_to_rgb (PIL input: Pillow's alpha_composite onto an
// opaque white image, then convert("RGB")), and transformers 4.57's plain convert("RGB"). The
// compositing ports Pillow 13.0's libImaging/AlphaComposite.c; the conversions to RGBA before it
// are those of libImaging/Convert.c (l2rgb, la2rgb), which only replicate gray.

import Media

/// What preprocessing does with an image's alpha channel.
///
/// The raw values are stable ids for recipes and cache keys: never change one.
public enum AlphaPolicy: String, Sendable, CaseIterable {
  /// Composite onto opaque white, so transparent pixels turn white: transformers 5's
  /// `CLIPImageProcessorPil` (`convert_to_rgb` with Pillow's `alpha_composite`). The default.
  case compositeOnWhite = "composite-white"
  /// Drop alpha and keep the colour under it: transformers 4.57's `CLIPImageProcessor`
  /// (Pillow's `convert("RGB")`).
  case drop = "drop"
}

extension ImagePreprocessor {
  /// The image in RGB as the reference converts it: gray replicated to three channels, alpha
  /// composited or dropped as `alpha` says; an RGB image is returned as it is.
  ///
  /// A PNG whose tRNS chunk names a transparent colour (gray or RGB) counts as having alpha in
  /// transformers 5; it reaches here with that colour already expanded to alpha 0.
  public static func convertToRGB(_ image: PixelImage, alpha: AlphaPolicy) -> PixelImage {
    guard image.format != .rgb else { return image }
    let channels = image.format.channels
    let gray = image.format == .gray || image.format == .grayAlpha
    let hasAlpha = image.format == .grayAlpha || image.format == .rgba
    let composite = hasAlpha && alpha == .compositeOnWhite
    let count = image.width * image.height
    let pixels = [UInt8](unsafeUninitializedCapacity: count * rgbChannels) { out, initialized in
      image.pixels.withUnsafeBufferPointer { input in
        for i in 0..<count {
          let pixel = input.baseAddress! + i * channels
          let overWhite = composite ? CompositeOverWhite(alpha: pixel[channels - 1]) : nil
          for c in 0..<rgbChannels {
            let sample = pixel[gray ? 0 : c]
            out[i * rgbChannels + c] = overWhite?.blend(sample) ?? sample
          }
        }
      }
      initialized = count * rgbChannels
    }
    return PixelImage(width: image.width, height: image.height, format: .rgb, pixels: pixels)
  }
}

/// Pillow's `alpha_composite(white, image)` for one pixel of `image` with alpha `alpha`: the
/// source-over blend in integer arithmetic with 7 fraction bits beyond 8 (its PRECISION_BITS), each
/// division by 255 done with shifts and rounded as Pillow rounds it.
private struct CompositeOverWhite {
  private static let fractionBits: UInt32 = 7
  private static let opaque: UInt32 = 255
  /// The background: white, fully opaque.
  private static let backgroundSample: UInt32 = 255
  private static let backgroundAlpha: UInt32 = 255

  /// Weights of the image sample and the background sample, summing to 255 << fractionBits;
  /// nil for alpha 0, where Pillow copies the background pixel unchanged.
  private let weights: (image: UInt32, background: UInt32)?

  init(alpha: UInt8) {
    guard alpha != 0 else {
      weights = nil
      return
    }
    let alpha = UInt32(alpha)
    let opaque = Self.opaque
    // Output alpha times 255; with an opaque background it is 255 * 255 for every alpha.
    let outputAlpha = alpha * opaque + Self.backgroundAlpha * (opaque - alpha)
    // Below 2^32: 255^3 << 7 is about 2.1e9.
    let imageWeight = alpha * opaque * opaque * (1 << Self.fractionBits) / outputAlpha
    weights = (imageWeight, opaque * (1 << Self.fractionBits) - imageWeight)
  }

  func blend(_ sample: UInt8) -> UInt8 {
    guard let weights else { return UInt8(Self.backgroundSample) }
    let sum = UInt32(sample) * weights.image + Self.backgroundSample * weights.background
    // Plus one half (0x80 << fractionBits), so the division rounds to nearest.
    return UInt8(shiftDivide255(sum + (0x80 << Self.fractionBits)) >> Self.fractionBits)
  }
}

/// Pillow's SHIFTFORDIV255, its two-shift stand-in for `x / 255`, ported as it is.
@inline(__always)
private func shiftDivide255(_ x: UInt32) -> UInt32 {
  ((x >> 8) + x) >> 8
}
