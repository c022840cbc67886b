import Foundation

/// Power spectra `|DFT(x)|²` of real frames of even length `n`, several frames at a time.
///
/// A real DFT of `n` points is one complex DFT of `n / 2` points on `z[m] = x[2m] + i x[2m+1]`,
/// untangled afterwards. The complex DFT is a mixed-radix Stockham FFT (radices 4, 2, 5 and a
/// generic prime fallback; 400 = 2 * 200 with 200 = 4 * 2 * 5 * 5). Each SIMD lane holds a
/// different frame, so every butterfly runs on `Lanes.scalarCount` frames at once without shuffles.
package struct RealPowerSpectrum: Sendable {
  package typealias Lanes = SIMD8<Float>
  package static var laneCount: Int { Lanes.scalarCount }

  /// Real input length.
  package let length: Int
  /// One-sided output bins, `length / 2 + 1`.
  package var bins: Int { length / 2 + 1 }
  private let half: Int
  private let stages: [Stage]
  /// `exp(-2πi k / length)` for `k` in `0...half`, for the real-from-complex untangling.
  private let untangleCos: [Float]
  private let untangleSin: [Float]

  /// One radix-`radix` pass: `span` sub-transforms of `count` points, `stride` interleaved blocks.
  private struct Stage: Sendable {
    let radix: Int
    let count: Int
    let stride: Int
    /// `exp(-2πi p t / (radix * count))` at `[p * (radix - 1) + t - 1]`, for `t` in `1..<radix`.
    let twiddleCos: [Float]
    let twiddleSin: [Float]
    /// `exp(-2πi k / radix)` for the generic butterfly.
    let rootCos: [Float]
    let rootSin: [Float]
  }

  package init(length: Int) {
    precondition(length >= 2 && length % 2 == 0, "real FFT length must be even, got \(length)")
    self.length = length
    half = length / 2
    var radices: [Int] = []
    var rest = half
    for radix in [4, 2, 3, 5] {
      while rest % radix == 0 {
        radices.append(radix)
        rest /= radix
      }
    }
    var p = 7
    while rest > 1 {
      while rest % p == 0 {
        radices.append(p)
        rest /= p
      }
      p += 2
    }
    var stages: [Stage] = []
    var current = half
    var stride = 1
    for radix in radices {
      let count = current / radix
      var twiddleCos: [Float] = []
      var twiddleSin: [Float] = []
      for p in 0..<count {
        for t in 1..<radix {
          let angle = -2 * Double.pi * Double(p * t) / Double(current)
          twiddleCos.append(Float(cos(angle)))
          twiddleSin.append(Float(sin(angle)))
        }
      }
      let roots = (0..<radix).map { -2 * Double.pi * Double($0) / Double(radix) }
      stages.append(
        Stage(
          radix: radix, count: count, stride: stride, twiddleCos: twiddleCos,
          twiddleSin: twiddleSin, rootCos: roots.map { Float(cos($0)) },
          rootSin: roots.map { Float(sin($0)) }))
      current = count
      stride *= radix
    }
    self.stages = stages
    let angles = (0...half).map { -2 * Double.pi * Double($0) / Double(length) }
    untangleCos = angles.map { Float(cos($0)) }
    untangleSin = angles.map { Float(sin($0)) }
  }

  /// Scratch space for one call of ``compute(_:into:rowStride:work:)``.
  package struct Work {
    var re: [Lanes]
    var im: [Lanes]
    var re2: [Lanes]
    var im2: [Lanes]
    var generic: [Lanes]
    package init(_ transform: RealPowerSpectrum) {
      re = [Lanes](repeating: .zero, count: transform.half)
      im = re
      re2 = re
      im2 = re
      generic = [Lanes](repeating: .zero, count: 2 * transform.length)
    }
  }

  /// Power spectra of `laneCount` frames.
  ///
  /// - `frames[i]` holds sample `i` of every frame, one frame per lane (`length` entries).
  /// - Writes bin `k` of every frame to `power[k]`, lane by lane, for `k` in `0..<bins`.
  package func compute(
    _ frames: UnsafePointer<Lanes>, into power: UnsafeMutablePointer<Lanes>, work: inout Work
  ) {
    work.re.withUnsafeMutableBufferPointer { re in
      work.im.withUnsafeMutableBufferPointer { im in
        work.re2.withUnsafeMutableBufferPointer { re2 in
          work.im2.withUnsafeMutableBufferPointer { im2 in
            work.generic.withUnsafeMutableBufferPointer { generic in
              for m in 0..<half {
                re[m] = frames[2 * m]
                im[m] = frames[2 * m + 1]
              }
              var (xr, xi, yr, yi) = (re.baseAddress!, im.baseAddress!, re2.baseAddress!, im2.baseAddress!)
              for stage in stages {
                run(stage, xr, xi, yr, yi, generic.baseAddress!)
                swap(&xr, &yr)
                swap(&xi, &yi)
              }
              untangle(xr, xi, power)
            }
          }
        }
      }
    }
  }

  /// `X[k] = E[k] + W^k O[k]` with `E = (Z[k] + conj Z[h-k]) / 2`, `O = (Z[k] - conj Z[h-k]) / 2i`.
  private func untangle(
    _ zr: UnsafeMutablePointer<Lanes>, _ zi: UnsafeMutablePointer<Lanes>,
    _ power: UnsafeMutablePointer<Lanes>
  ) {
    for k in 0...half {
      let (ar, ai) = (zr[k % half], zi[k % half])
      let mirror = (half - k) % half
      let (br, bi) = (zr[mirror], -zi[mirror])
      let er = 0.5 * (ar + br)
      let ei = 0.5 * (ai + bi)
      // (a - b) / 2i = (im(a - b) - i re(a - b)) / 2
      let or = 0.5 * (ai - bi)
      let oi = -0.5 * (ar - br)
      let (c, s) = (untangleCos[k], untangleSin[k])
      let xr = er + c * or - s * oi
      let xi = ei + c * oi + s * or
      power[k] = xr * xr + xi * xi
    }
  }

  /// One Stockham decimation-in-frequency pass from `x` to `y`:
  /// `y[q + s (r p + t)] = w^(p t) Σ_k x[q + s (p + k m)] ω_r^(k t)`.
  private func run(
    _ stage: Stage, _ xr: UnsafeMutablePointer<Lanes>, _ xi: UnsafeMutablePointer<Lanes>,
    _ yr: UnsafeMutablePointer<Lanes>, _ yi: UnsafeMutablePointer<Lanes>,
    _ scratch: UnsafeMutablePointer<Lanes>
  ) {
    let (r, m, s) = (stage.radix, stage.count, stage.stride)
    stage.twiddleCos.withUnsafeBufferPointer { tc in
      stage.twiddleSin.withUnsafeBufferPointer { ts in
        for p in 0..<m {
          let tw = p * (r - 1)
          for q in 0..<s {
            let input = q + s * p
            let output = q + s * r * p
            switch r {
            case 2:
              let (a0r, a0i, a1r, a1i) = (xr[input], xi[input], xr[input + s * m], xi[input + s * m])
              yr[output] = a0r + a1r
              yi[output] = a0i + a1i
              store(a0r - a1r, a0i - a1i, tc[tw], ts[tw], yr, yi, output + s)
            case 4:
              let sm = s * m
              let (a0r, a0i) = (xr[input], xi[input])
              let (a1r, a1i) = (xr[input + sm], xi[input + sm])
              let (a2r, a2i) = (xr[input + 2 * sm], xi[input + 2 * sm])
              let (a3r, a3i) = (xr[input + 3 * sm], xi[input + 3 * sm])
              let (sr02, si02, dr02, di02) = (a0r + a2r, a0i + a2i, a0r - a2r, a0i - a2i)
              let (sr13, si13, dr13, di13) = (a1r + a3r, a1i + a3i, a1r - a3r, a1i - a3i)
              yr[output] = sr02 + sr13
              yi[output] = si02 + si13
              // b1 = d02 - i d13, b2 = s02 - s13, b3 = d02 + i d13
              store(dr02 + di13, di02 - dr13, tc[tw], ts[tw], yr, yi, output + s)
              store(sr02 - sr13, si02 - si13, tc[tw + 1], ts[tw + 1], yr, yi, output + 2 * s)
              store(dr02 - di13, di02 + dr13, tc[tw + 2], ts[tw + 2], yr, yi, output + 3 * s)
            case 5:
              let sm = s * m
              let (a0r, a0i) = (xr[input], xi[input])
              let (a1r, a1i) = (xr[input + sm], xi[input + sm])
              let (a2r, a2i) = (xr[input + 2 * sm], xi[input + 2 * sm])
              let (a3r, a3i) = (xr[input + 3 * sm], xi[input + 3 * sm])
              let (a4r, a4i) = (xr[input + 4 * sm], xi[input + 4 * sm])
              let (t1r, t1i, t3r, t3i) = (a1r + a4r, a1i + a4i, a1r - a4r, a1i - a4i)
              let (t2r, t2i, t4r, t4i) = (a2r + a3r, a2i + a3i, a2r - a3r, a2i - a3i)
              let (c1, c2, s1, s2) = (Self.cos1, Self.cos2, Self.sin1, Self.sin2)
              yr[output] = a0r + t1r + t2r
              yi[output] = a0i + t1i + t2i
              let (u1r, u1i) = (a0r + c1 * t1r + c2 * t2r, a0i + c1 * t1i + c2 * t2i)
              let (u2r, u2i) = (a0r + c2 * t1r + c1 * t2r, a0i + c2 * t1i + c1 * t2i)
              // v1 = s1 t3 + s2 t4, v2 = s2 t3 - s1 t4; b1 = u1 - i v1, b4 = u1 + i v1, ...
              let (v1r, v1i) = (s1 * t3r + s2 * t4r, s1 * t3i + s2 * t4i)
              let (v2r, v2i) = (s2 * t3r - s1 * t4r, s2 * t3i - s1 * t4i)
              store(u1r + v1i, u1i - v1r, tc[tw], ts[tw], yr, yi, output + s)
              store(u2r + v2i, u2i - v2r, tc[tw + 1], ts[tw + 1], yr, yi, output + 2 * s)
              store(u2r - v2i, u2i + v2r, tc[tw + 2], ts[tw + 2], yr, yi, output + 3 * s)
              store(u1r - v1i, u1i + v1r, tc[tw + 3], ts[tw + 3], yr, yi, output + 4 * s)
            default:
              genericButterfly(stage, input, output, tw, tc, ts, xr, xi, yr, yi, scratch)
            }
          }
        }
      }
    }
  }

  private static let cos1 = Float(cos(2 * Double.pi / 5))
  private static let cos2 = Float(cos(4 * Double.pi / 5))
  private static let sin1 = Float(sin(2 * Double.pi / 5))
  private static let sin2 = Float(sin(4 * Double.pi / 5))

  /// A direct DFT of `radix` points for radices without a hand-written butterfly.
  private func genericButterfly(
    _ stage: Stage, _ input: Int, _ output: Int, _ tw: Int, _ tc: UnsafeBufferPointer<Float>,
    _ ts: UnsafeBufferPointer<Float>, _ xr: UnsafeMutablePointer<Lanes>,
    _ xi: UnsafeMutablePointer<Lanes>, _ yr: UnsafeMutablePointer<Lanes>,
    _ yi: UnsafeMutablePointer<Lanes>, _ scratch: UnsafeMutablePointer<Lanes>
  ) {
    let (r, sm, s) = (stage.radix, stage.stride * stage.count, stage.stride)
    for k in 0..<r {
      scratch[2 * k] = xr[input + k * sm]
      scratch[2 * k + 1] = xi[input + k * sm]
    }
    for t in 0..<r {
      var (br, bi) = (Lanes.zero, Lanes.zero)
      for k in 0..<r {
        let root = (k * t) % r
        let (c, sn) = (stage.rootCos[root], stage.rootSin[root])
        br += c * scratch[2 * k] - sn * scratch[2 * k + 1]
        bi += c * scratch[2 * k + 1] + sn * scratch[2 * k]
      }
      if t == 0 {
        yr[output] = br
        yi[output] = bi
      } else {
        store(br, bi, tc[tw + t - 1], ts[tw + t - 1], yr, yi, output + t * s)
      }
    }
  }

  /// `y[index] = (re + i im) * (c + i s)`.
  @inline(__always) private func store(
    _ re: Lanes, _ im: Lanes, _ c: Float, _ s: Float, _ yr: UnsafeMutablePointer<Lanes>,
    _ yi: UnsafeMutablePointer<Lanes>, _ index: Int
  ) {
    yr[index] = re * c - im * s
    yi[index] = re * s + im * c
  }
}
