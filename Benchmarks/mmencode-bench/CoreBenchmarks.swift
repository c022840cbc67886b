import Core
import Foundation

/// GEMM, linear, attention and elementwise throughput at the shapes of CLIP ViT-B/32 and
/// Whisper-base.
func runCoreBenchmarks() {
  waitForOpenBLASPoolToSleep()  // its pool spins after start-up too
  print("\nGEMM: Core linear with bias (new output) vs one raw cblas_sgemm (x Wᵀ into a reused")
  print("buffer) using OpenBLAS's own threads; ratio = sgemm time / linear time (target >= 0.90),")
  print("each the median of back-to-back runs")
  print(pad("shape", 26), pad("rows x in -> out", 20), "sgemm GFLOP/s", " linear GFLOP/s", " ratio")
  for g in gemmShapes {
    let x = benchmarkTensor([g.rows, g.inFeatures], seed: 1)
    let w = benchmarkTensor([g.outFeatures, g.inFeatures], seed: 2)
    let bias = benchmarkTensor([g.outFeatures], seed: 3)
    var out = [Float](repeating: 0, count: g.rows * g.outFeatures)
    let flops = 2.0 * Double(g.rows * g.inFeatures * g.outFeatures)
    let layer = medianSeconds { consume(linear(x, weight: w, bias: bias)) }
    let raw = medianSeconds {
      x.scalars.withUnsafeBufferPointer { px in
        w.scalars.withUnsafeBufferPointer { pw in
          out.withUnsafeMutableBufferPointer { po in
            openBLASThreadedSgemm(
              m: g.rows, n: g.outFeatures, k: g.inFeatures, a: px.baseAddress!, lda: g.inFeatures,
              b: pw.baseAddress!, ldb: g.inFeatures, transposeB: true, c: po.baseAddress!,
              ldc: g.outFeatures)
          }
        }
      }
    }
    waitForOpenBLASPoolToSleep()
    print(
      pad(g.name, 26), pad("\(g.rows) x \(g.inFeatures) -> \(g.outFeatures)", 20),
      number(flops / raw / 1e9, 13), number(flops / layer / 1e9, 15), number(raw / layer, 6, 3))
  }

  print("\nattention: GFLOP/s counting 4 B heads T² headDim (causal counts the full square too)")
  print(pad("shape", 26), pad("B x T x W / heads", 20), pad("causal", 7), "      ms", " GFLOP/s")
  for a in attentionShapes {
    for causal in [false, true] {
      let q = benchmarkTensor([a.batch, a.tokens, a.width], seed: 4)
      let k = benchmarkTensor([a.batch, a.tokens, a.width], seed: 5)
      let v = benchmarkTensor([a.batch, a.tokens, a.width], seed: 6)
      let seconds = medianSeconds {
        consume(attention(query: q, key: k, value: v, heads: a.heads, causal: causal))
      }
      let flops = 4.0 * Double(a.batch * a.tokens * a.tokens * a.width)
      print(
        pad(a.name, 26), pad("\(a.batch) x \(a.tokens) x \(a.width) / \(a.heads)", 20),
        pad("\(causal)", 7), number(seconds * 1e3, 8, 2), number(flops / seconds / 1e9, 8))
    }
  }

  print("\nelementwise")
  print(pad("op", 26), pad("shape", 20), "      ms", "  ns/element")
  for e in elementwiseCases {
    let x = benchmarkTensor(e.shape, seed: 7)
    let gamma = benchmarkTensor([e.shape.last!], seed: 8)
    let beta = benchmarkTensor([e.shape.last!], seed: 9)
    let seconds = medianSeconds {
      switch e.op {
      case .gelu: consume(gelu(x))
      case .quickGelu: consume(quickGelu(x))
      case .layerNorm: consume(layerNorm(x, weight: gamma, bias: beta, eps: 1e-5))
      }
    }
    print(
      pad("\(e.name) \(e.op)", 26), pad("\(e.shape)", 20), number(seconds * 1e3, 8, 3),
      number(seconds * 1e9 / Double(x.count), 12, 2))
  }
}

private let vitTokens = 50
private let vitWidth = 768
private let vitMLP = 3072
private let vitHeads = 12
private let vitBatch = 16
private let whisperFrames = 1500
private let whisperWidth = 512
private let whisperMLP = 2048
private let whisperHeads = 8

private let gemmShapes: [(name: String, rows: Int, inFeatures: Int, outFeatures: Int)] = [
  ("1024^3", 1024, 1024, 1024),
  ("ViT-B/32 fc1, batch 1", vitTokens, vitWidth, vitMLP),
  ("ViT-B/32 fc1, batch 16", vitBatch * vitTokens, vitWidth, vitMLP),
  ("ViT-B/32 fc2, batch 1", vitTokens, vitMLP, vitWidth),
  ("ViT-B/32 fc2, batch 16", vitBatch * vitTokens, vitMLP, vitWidth),
  ("Whisper-base fc1", whisperFrames, whisperWidth, whisperMLP),
]

private let attentionShapes: [(name: String, batch: Int, tokens: Int, width: Int, heads: Int)] = [
  ("ViT-B/32, batch 16", vitBatch, vitTokens, vitWidth, vitHeads),
  ("Whisper-base", 1, whisperFrames, whisperWidth, whisperHeads),
]

private enum ElementwiseOp { case gelu, quickGelu, layerNorm }

private let elementwiseCases: [(name: String, op: ElementwiseOp, shape: [Int])] = [
  ("ViT-B/32", .quickGelu, [vitBatch * vitTokens, vitMLP]),
  ("ViT-B/32", .gelu, [vitBatch * vitTokens, vitMLP]),
  ("ViT-B/32", .layerNorm, [vitBatch * vitTokens, vitWidth]),
  ("Whisper-base", .gelu, [whisperFrames, whisperMLP]),
  ("Whisper-base", .layerNorm, [whisperFrames, whisperWidth]),
]

/// OpenBLAS's pool thread spins for about 0.1 s after a threaded call (see `Threads`); waiting it
/// out keeps it from taking a core from the next measurement.
private func waitForOpenBLASPoolToSleep() { Thread.sleep(forTimeInterval: 0.25) }

private func pad(_ s: String, _ width: Int) -> String {
  s.count >= width ? s : s + String(repeating: " ", count: width - s.count)
}

private func number(_ value: Double, _ width: Int, _ decimals: Int = 1) -> String {
  let s = String(format: "%.\(decimals)f", value)
  return String(repeating: " ", count: max(0, width - s.count)) + s
}
