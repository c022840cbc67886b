/// 1-D convolution, as `torch.nn.functional.conv1d` with groups 1 and dilation 1.
///
/// - `x`: `[B, Cin, L]`; `weight`: `[Cout, Cin, K]`; `bias`: `[Cout]` or nil.
/// - Zero padding of `padding` on both sides; `Lout = (L + 2 padding - K) / stride + 1`.
/// - Returns `[B, Cout, Lout]`. Lowered to one GEMM per batch entry over an im2col matrix.
public func conv1d(
  _ x: Tensor, weight: Tensor, bias: Tensor? = nil, stride: Int = 1, padding: Int = 0
) -> Tensor {
  precondition(x.rank == 3 && weight.rank == 3, "conv1d: \(x.shape) * \(weight.shape)")
  let (b, cin, l) = (x.shape[0], x.shape[1], x.shape[2])
  let (cout, k) = (weight.shape[0], weight.shape[2])
  precondition(weight.shape[1] == cin, "conv1d: input channels \(cin) vs weight \(weight.shape)")
  precondition(stride >= 1 && padding >= 0, "conv1d: stride \(stride), padding \(padding)")
  precondition(l + 2 * padding >= k, "conv1d: input length \(l) shorter than kernel \(k)")
  let lout = (l + 2 * padding - k) / stride + 1
  // cols[(c, t), o] = x[c, o * stride + t - padding], zero outside the input.
  var cols = [Float](repeating: 0, count: cin * k * lout)
  return x.scalars.withUnsafeBufferPointer { px in
    weight.scalars.withUnsafeBufferPointer { pw in
      Tensor(uninitializedShape: [b, cout, lout]) { py in
        cols.withUnsafeMutableBufferPointer { pc in
          for bi in 0..<b {
            for c in 0..<cin {
              let src = px.baseAddress! + (bi * cin + c) * l
              for t in 0..<k {
                let dst = pc.baseAddress! + (c * k + t) * lout
                for o in 0..<lout {
                  let i = o * stride + t - padding
                  dst[o] = (i >= 0 && i < l) ? src[i] : 0
                }
              }
            }
            let out = py.baseAddress! + bi * cout * lout
            seedWithBias(out, rows: cout, columns: lout, bias: bias)
            sgemm(
              m: cout, n: lout, k: cin * k, a: pw.baseAddress!, lda: cin * k, b: pc.baseAddress!,
              ldb: lout, c: out, ldc: lout, beta: bias == nil ? 0 : 1)
          }
        }
      }
    }
  }
}

/// Non-overlapping 2-D patch embedding: a convolution whose stride equals its kernel, as the
/// vision transformer's `patch_embedding`.
///
/// - `images`: `[B, C, H, W]`; `weight`: `[D, C, P, P]`; `bias`: `[D]` or nil.
/// - Patches are taken row by row; pixels past the last whole patch are ignored (as PyTorch).
/// - Returns `[B, (H / P) * (W / P), D]`.
public func patchEmbed(_ images: Tensor, weight: Tensor, bias: Tensor? = nil) -> Tensor {
  precondition(images.rank == 4 && weight.rank == 4, "patchEmbed: \(images.shape), \(weight.shape)")
  let (b, c, h, w) = (images.shape[0], images.shape[1], images.shape[2], images.shape[3])
  let (d, p) = (weight.shape[0], weight.shape[2])
  precondition(weight.shape[1] == c && weight.shape[3] == p, "patchEmbed weight \(weight.shape)")
  let (gh, gw) = (h / p, w / p)
  let n = gh * gw
  let patchSize = c * p * p
  // patches[(b, gy, gx), (c, py, px)] in the weight's own (c, py, px) order.
  var patches = [Float](repeating: 0, count: b * n * patchSize)
  patches.withUnsafeMutableBufferPointer { dst in
    images.scalars.withUnsafeBufferPointer { src in
      for bi in 0..<b {
        for gy in 0..<gh {
          for gx in 0..<gw {
            let row = dst.baseAddress! + ((bi * gh + gy) * gw + gx) * patchSize
            for ci in 0..<c {
              for py in 0..<p {
                let from = src.baseAddress! + ((bi * c + ci) * h + gy * p + py) * w + gx * p
                (row + (ci * p + py) * p).update(from: from, count: p)
              }
            }
          }
        }
      }
    }
  }
  return linear(
    Tensor(shape: [b, n, patchSize], scalars: patches), weight: weight.reshaped([d, patchSize]),
    bias: bias)
}

/// 1-D average pooling without padding, as `torch.nn.AvgPool1d(kernel, stride)`.
///
/// - `x`: `[B, C, L]`. Returns `[B, C, (L - kernel) / stride + 1]`.
public func avgPool1d(_ x: Tensor, kernel: Int, stride: Int) -> Tensor {
  precondition(x.rank == 3 && kernel >= 1 && stride >= 1, "avgPool1d: \(x.shape)")
  let (b, c, l) = (x.shape[0], x.shape[1], x.shape[2])
  precondition(l >= kernel, "avgPool1d: length \(l) shorter than kernel \(kernel)")
  let lout = (l - kernel) / stride + 1
  return x.scalars.withUnsafeBufferPointer { px in
    Tensor(uninitializedShape: [b, c, lout]) { py in
      for r in 0..<(b * c) {
        let src = px.baseAddress! + r * l
        for o in 0..<lout {
          var sum: Float = 0
          for t in 0..<kernel { sum += src[o * stride + t] }
          py[r * lout + o] = sum / Float(kernel)
        }
      }
    }
  }
}

/// Writes `bias[i]` into every column of row `i` of a `[rows, columns]` buffer (or leaves it for
/// a `beta = 0` GEMM to overwrite when there is no bias).
private func seedWithBias(
  _ out: UnsafeMutablePointer<Float>, rows: Int, columns: Int, bias: Tensor?
) {
  guard let bias else { return }
  precondition(bias.shape == [rows], "bias \(bias.shape) for \(rows) channels")
  for r in 0..<rows { (out + r * columns).update(repeating: bias.scalars[r], count: columns) }
}
