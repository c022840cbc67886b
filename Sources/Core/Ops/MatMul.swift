import COpenBLAS

/// `C[m, n] = alpha * op(A) * op(B) + beta * C` on raw row-major buffers, through `cblas_sgemm`.
///
/// `op(A)` is `[m, k]` (A stored `[k, m]` when `transposeA`), `op(B)` is `[k, n]` (B stored `[n, k]`
/// when `transposeB`). Leading dimensions let callers address column blocks (one attention head)
/// in place.
///
/// Large products are split into ``Threads/count`` blocks of C's longer side, each a
/// single-threaded `cblas_sgemm` on its own worker (see ``Threads`` for why OpenBLAS's own
/// threading is not used). Splitting the longer side repeats the packing of the smaller operand
/// only. Inside a parallel loop the product runs whole on the calling worker.
package func sgemm(
  m: Int, n: Int, k: Int,
  a: UnsafePointer<Float>, lda: Int, transposeA: Bool = false,
  b: UnsafePointer<Float>, ldb: Int, transposeB: Bool = false,
  c: UnsafeMutablePointer<Float>, ldc: Int,
  alpha: Float = 1, beta: Float = 0
) {
  guard m > 0, n > 0 else { return }
  guard k > 0 else {
    // BLAS leaves C untouched when k == 0 only if beta == 1; make the empty product explicit.
    for i in 0..<m { for j in 0..<n { c[i * ldc + j] = beta == 0 ? 0 : beta * c[i * ldc + j] } }
    return
  }
  let splitColumns = n >= m
  let side = splitColumns ? n : m
  let parts = min(
    Threads.count, m * n * k / minimumMultiplyAddsPerPart, side / gemmBlockAlignment)
  if parts <= 1 || Threads.isInParallelLoop {
    blasSgemm(m, n, k, a, lda, transposeA, b, ldb, transposeB, c, ldc, alpha, beta)
    return
  }
  Threads.parallelFor(parts) { range in
    for part in range {
      // Block edges on multiples of the alignment keep BLAS in its full-width kernels.
      let start = part * side / parts / gemmBlockAlignment * gemmBlockAlignment
      let end =
        part == parts - 1
        ? side : (part + 1) * side / parts / gemmBlockAlignment * gemmBlockAlignment
      if splitColumns {
        blasSgemm(
          m, end - start, k, a, lda, transposeA, transposeB ? b + start * ldb : b + start, ldb,
          transposeB, c + start, ldc, alpha, beta)
      } else {
        blasSgemm(
          end - start, n, k, transposeA ? a + start : a + start * lda, lda, transposeA, b, ldb,
          transposeB, c + start * ldc, ldc, alpha, beta)
      }
    }
  }
}

/// One `cblas_sgemm` call with OpenBLAS's own threading at ``Threads/count`` threads: the
/// baseline that benchmarks hold Core's split GEMMs against. Nothing else may call BLAS meanwhile.
package func openBLASThreadedSgemm(
  m: Int, n: Int, k: Int, a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
  transposeB: Bool, c: UnsafeMutablePointer<Float>, ldc: Int
) {
  openblas_set_num_threads(Int32(Threads.count))
  defer { openblas_set_num_threads(1) }
  blasSgemm(m, n, k, a, lda, false, b, ldb, transposeB, c, ldc, 1, 0)
}

private func blasSgemm(
  _ m: Int, _ n: Int, _ k: Int, _ a: UnsafePointer<Float>, _ lda: Int, _ transposeA: Bool,
  _ b: UnsafePointer<Float>, _ ldb: Int, _ transposeB: Bool, _ c: UnsafeMutablePointer<Float>,
  _ ldc: Int, _ alpha: Float, _ beta: Float
) {
  cblas_sgemm(
    CblasRowMajor, transposeA ? CblasTrans : CblasNoTrans, transposeB ? CblasTrans : CblasNoTrans,
    Int32(m), Int32(n), Int32(k), alpha, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
}

/// Below this many multiply-adds (about 20 µs on one core) a block is not worth a thread.
private let minimumMultiplyAddsPerPart = 1 << 20
/// Blocks of C start on multiples of this many rows or columns.
private let gemmBlockAlignment = 16

/// Matrix product over the last two axes.
///
/// - `a`: `[..., M, K]` (`[..., K, M]` when `transposeA`)
/// - `b`: `[K, N]` (`[N, K]` when `transposeB`), shared by every batch entry, or with the same
///   leading axes as `a`.
/// - Returns `[..., M, N]`.
public func matmul(_ a: Tensor, _ b: Tensor, transposeA: Bool = false, transposeB: Bool = false)
  -> Tensor
{
  precondition(a.rank >= 2 && b.rank >= 2, "matmul needs rank >= 2, got \(a.shape) x \(b.shape)")
  let batchShape = Array(a.shape.dropLast(2))
  let batch = batchShape.reduce(1, *)
  let (ar, ac) = (a.shape[a.rank - 2], a.shape[a.rank - 1])
  let (br, bc) = (b.shape[b.rank - 2], b.shape[b.rank - 1])
  let (m, k) = transposeA ? (ac, ar) : (ar, ac)
  let (kb, n) = transposeB ? (bc, br) : (br, bc)
  precondition(k == kb, "matmul inner sizes differ: \(a.shape) x \(b.shape)")
  let sharedB = b.rank == 2
  precondition(
    sharedB || Array(b.shape.dropLast(2)) == batchShape,
    "matmul batch axes differ: \(a.shape) x \(b.shape)")
  if batch * m * n == 0 || k == 0 { return Tensor(repeating: 0, shape: batchShape + [m, n]) }
  return a.scalars.withUnsafeBufferPointer { pa in
    b.scalars.withUnsafeBufferPointer { pb in
      Tensor(uninitializedShape: batchShape + [m, n]) { pc in
        if sharedB && !transposeA {
          // One GEMM over all batch rows at once: [batch * M, K] x [K, N].
          sgemm(
            m: batch * m, n: n, k: k, a: pa.baseAddress!, lda: ac, b: pb.baseAddress!, ldb: bc,
            transposeB: transposeB, c: pc.baseAddress!, ldc: n)
          return
        }
        let (a, b, c) = (pa.baseAddress!, pb.baseAddress!, pc.baseAddress!)
        let product = { (i: Int) in
          sgemm(
            m: m, n: n, k: k, a: a + i * ar * ac, lda: ac, transposeA: transposeA,
            b: b + (sharedB ? 0 : i * br * bc), ldb: bc, transposeB: transposeB, c: c + i * m * n,
            ldc: n)
        }
        let work = max(m * n * k, 1)
        if work >= minimumMultiplyAddsPerPart * Threads.count {
          for i in 0..<batch { product(i) }  // each product is split across the workers
        } else {
          // Products too small to split run side by side instead.
          Threads.parallelFor(batch, grain: max(1, minimumMultiplyAddsPerPart / work)) { range in
            for i in range { product(i) }
          }
        }
      }
    }
  }
}

/// A fully connected layer in PyTorch's layout: `y = x Wᵀ + b`.
///
/// - `x`: `[..., inFeatures]`
/// - `weight`: `[outFeatures, inFeatures]`
/// - `bias`: `[outFeatures]` or nil
/// - Returns `[..., outFeatures]`.
public func linear(_ x: Tensor, weight: Tensor, bias: Tensor? = nil) -> Tensor {
  precondition(weight.rank == 2, "linear weight must be 2-D, got \(weight.shape)")
  let (outFeatures, inFeatures) = (weight.shape[0], weight.shape[1])
  precondition(x.shape.last == inFeatures, "linear: input \(x.shape) vs weight \(weight.shape)")
  precondition(bias == nil || bias!.shape == [outFeatures], "linear: bias \(bias!.shape)")
  let rows = x.shape.dropLast().reduce(1, *)
  return x.scalars.withUnsafeBufferPointer { px in
    weight.scalars.withUnsafeBufferPointer { pw in
      Tensor(uninitializedShape: Array(x.shape.dropLast()) + [outFeatures]) { py in
        // Seed every output row with the bias and let GEMM accumulate onto it (beta = 1): the
        // bias costs one streaming write instead of a second pass over the output.
        if let bias {
          bias.scalars.withUnsafeBufferPointer { pb in
            for r in 0..<rows {
              (py.baseAddress! + r * outFeatures).update(from: pb.baseAddress!, count: outFeatures)
            }
          }
        }
        if rows == 0 { return }
        if bias == nil && inFeatures == 0 { py.initialize(repeating: 0) }
        sgemm(
          m: rows, n: outFeatures, k: inFeatures, a: px.baseAddress!, lda: inFeatures,
          b: pw.baseAddress!, ldb: inFeatures, transposeB: true, c: py.baseAddress!,
          ldc: outFeatures, beta: bias == nil ? 0 : 1)
      }
    }
  }
}
