/// Lane-wise float math for the elementwise kernels.
///
/// libm's `expf` and `erff` are scalar calls (about 4 ns per element here): softmax took more of
/// Whisper's attention time than its two GEMMs. These branch-free versions use only add, multiply,
/// divide, compare and integer bit operations, so they vectorize on the baseline x86-64 (SSE2)
/// and arm64 targets without special compiler flags; 16 lanes give the out-of-order core enough
/// independent work to hide the long dependency chains.
typealias FloatVector = SIMD16<Float>
typealias IntVector = SIMD16<Int32>

extension SIMD16 where Scalar == Float {
  @inline(__always) init(loading pointer: UnsafePointer<Float>) {
    self = UnsafeRawPointer(pointer).loadUnaligned(as: Self.self)
  }

  /// The first `count` lanes from `pointer`, the rest zero (for the tail of a row).
  @inline(__always) init(loading pointer: UnsafePointer<Float>, count: Int) {
    self.init()
    for lane in 0..<count { self[lane] = pointer[lane] }
  }

  @inline(__always) func store(to pointer: UnsafeMutablePointer<Float>) {
    UnsafeMutableRawPointer(pointer).storeBytes(of: self, as: Self.self)
  }

  @inline(__always) func store(to pointer: UnsafeMutablePointer<Float>, count: Int) {
    for lane in 0..<count { pointer[lane] = self[lane] }
  }
}

/// Applies `f` to `count` floats from `source` into `destination` (which may be the same memory),
/// a vector at a time.
@inline(__always) func mapVectors(
  _ source: UnsafePointer<Float>, _ destination: UnsafeMutablePointer<Float>, count: Int,
  _ f: (FloatVector) -> FloatVector
) {
  let width = FloatVector.scalarCount
  var i = 0
  while i + width <= count {
    f(FloatVector(loading: source + i)).store(to: destination + i)
    i += width
  }
  if i < count {
    f(FloatVector(loading: source + i, count: count - i)).store(
      to: destination + i, count: count - i)
  }
}

// 1.5 * 2^23: adding it rounds a float of magnitude below 2^22 to an integer, which then sits in
// the low mantissa bits.
private let roundingShift: Float = 12_582_912
private let roundingShiftBits = Int32(bitPattern: roundingShift.bitPattern)

/// `e^x` per lane, within 2 ulp of the exact value for normal results; `+inf` above
/// `log(Float.greatestFiniteMagnitude)`, subnormal or `0` far below zero (`-infinity` gives 0),
/// NaN for NaN.
@inline(__always) func exp(_ x: FloatVector) -> FloatVector {
  // Just past the ends of the finite range: the scaling below then rounds to +inf or to 0 by
  // itself, so no fix-up is needed.
  var clamped = x
  clamped.replace(with: 89, where: x .> 89)
  clamped.replace(with: -104, where: x .< -104)
  // e^x = 2^n e^r with n = round(x / ln 2) and |r| <= ln 2 / 2; ln 2 is split in two (Cody and
  // Waite) so r keeps its low bits.
  let shifted = clamped * 1.44269504088896341 + roundingShift
  let n = shifted - roundingShift
  let r = clamped - n * 0.693359375 + n * 2.12194440e-4
  // Cephes' minimax polynomial for e^r on that interval.
  var p = FloatVector(repeating: 1.9875691500e-4)
  p = p * r + 1.3981999507e-3
  p = p * r + 8.3334519073e-3
  p = p * r + 4.1665795894e-2
  p = p * r + 1.6666665459e-1
  p = p * r + 5.0000001201e-1
  p = p * (r * r) + r + 1
  // 2^n as two factors, each a normal float, so that n = 128 overflows and n < -126 underflows
  // gradually, as the exact result would.
  let nBits = unsafeBitCast(shifted, to: IntVector.self) &- roundingShiftBits
  let half = nBits &>> 1
  let scale1 = unsafeBitCast((half &+ 127) &<< 23, to: FloatVector.self)
  let scale2 = unsafeBitCast((nBits &- half &+ 127) &<< 23, to: FloatVector.self)
  return p * scale1 * scale2
}

/// `erfc(x) = 1 - erf(x)` per lane with a relative error below about 1e-6 wherever the result is
/// a normal float (Numerical Recipes' `erfcc` Chebyshev fit, fractional error < 1.2e-7 in exact
/// arithmetic). Relative accuracy in the tail is what keeps GELU accurate for negative inputs,
/// where `1 + erf(x)` would cancel.
@inline(__always) func erfc(_ x: FloatVector) -> FloatVector {
  let z = unsafeBitCast(unsafeBitCast(x, to: IntVector.self) & 0x7fff_ffff, to: FloatVector.self)
  let t = 1 / (1 + 0.5 * z)
  var p = FloatVector(repeating: 0.17087277)
  p = p * t - 0.82215223
  p = p * t + 1.48851587
  p = p * t - 1.13520398
  p = p * t + 0.27886807
  p = p * t - 0.18628806
  p = p * t + 0.09678418
  p = p * t + 0.37409196
  p = p * t + 1.00002368
  p = p * t - 1.26551223
  let tail = t * exp(p - z * z)
  return tail.replacing(with: 2 - tail, where: x .< 0)
}
