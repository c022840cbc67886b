import Core
import Testing

struct Conv1dCase: Sendable, CustomTestStringConvertible {
  var batch, inChannels, length, outChannels, kernel: Int
  var stride = 1, padding = 0
  var bias = true
  var testDescription: String {
    "[\(batch), \(inChannels), \(length)] * [\(outChannels), \(inChannels), \(kernel)]"
      + " stride \(stride) padding \(padding)\(bias ? " + bias" : "")"
  }
}

let conv1dCases: [Conv1dCase] = [
  Conv1dCase(batch: 1, inChannels: 1, length: 1, outChannels: 1, kernel: 1),
  Conv1dCase(batch: 1, inChannels: 1, length: 5, outChannels: 1, kernel: 3, bias: false),
  Conv1dCase(batch: 1, inChannels: 3, length: 7, outChannels: 2, kernel: 3, padding: 1),
  Conv1dCase(batch: 2, inChannels: 4, length: 9, outChannels: 5, kernel: 3, stride: 2, padding: 1),
  Conv1dCase(batch: 2, inChannels: 4, length: 10, outChannels: 5, kernel: 3, stride: 2, padding: 1),
  Conv1dCase(batch: 1, inChannels: 8, length: 16, outChannels: 8, kernel: 5, padding: 2),
  Conv1dCase(batch: 3, inChannels: 2, length: 13, outChannels: 7, kernel: 4, stride: 3),
  Conv1dCase(batch: 1, inChannels: 5, length: 3, outChannels: 3, kernel: 3),
  Conv1dCase(batch: 1, inChannels: 5, length: 1, outChannels: 3, kernel: 3, padding: 1),
  Conv1dCase(batch: 2, inChannels: 7, length: 31, outChannels: 11, kernel: 1, bias: false),
  Conv1dCase(
    batch: 1, inChannels: 13, length: 17, outChannels: 19, kernel: 7, stride: 2, padding: 3),
  Conv1dCase(batch: 1, inChannels: 3, length: 8, outChannels: 2, kernel: 2, stride: 2),
  Conv1dCase(
    batch: 2, inChannels: 1, length: 100, outChannels: 4, kernel: 9, stride: 4, padding: 4),
  Conv1dCase(
    batch: 1, inChannels: 16, length: 29, outChannels: 16, kernel: 3, stride: 1, padding: 5),
  Conv1dCase(batch: 4, inChannels: 6, length: 11, outChannels: 6, kernel: 11),
  Conv1dCase(batch: 1, inChannels: 20, length: 60, outChannels: 24, kernel: 3, padding: 1),
  Conv1dCase(
    batch: 1, inChannels: 24, length: 60, outChannels: 24, kernel: 3, stride: 2, padding: 1),
  Conv1dCase(
    batch: 1, inChannels: 24, length: 61, outChannels: 24, kernel: 3, stride: 2, padding: 1),
  Conv1dCase(batch: 2, inChannels: 3, length: 5, outChannels: 2, kernel: 3, stride: 5, padding: 1),
  Conv1dCase(
    batch: 1, inChannels: 2, length: 2, outChannels: 3, kernel: 5, padding: 2, bias: false),
  Conv1dCase(
    batch: 1, inChannels: 67, length: 37, outChannels: 5, kernel: 3, stride: 2, padding: 1),
  Conv1dCase(batch: 0, inChannels: 2, length: 4, outChannels: 3, kernel: 3),
  // Large enough for the GEMM to be split across threads.
  Conv1dCase(batch: 2, inChannels: 64, length: 203, outChannels: 64, kernel: 3, padding: 1),
  Conv1dCase(
    batch: 1, inChannels: 64, length: 405, outChannels: 48, kernel: 3, stride: 2, padding: 1),
]

@Test(arguments: conv1dCases.enumerated().map { $0 })
func conv1dMatchesReference(index: Int, c: Conv1dCase) {
  let seed = UInt64(3 * index + 3000)
  let x = randomTensor([c.batch, c.inChannels, c.length], seed: seed)
  let weight = randomTensor([c.outChannels, c.inChannels, c.kernel], seed: seed + 1)
  let bias = c.bias ? randomTensor([c.outChannels], seed: seed + 2) : nil
  let fast = conv1d(x, weight: weight, bias: bias, stride: c.stride, padding: c.padding)
  let reference = Reference.conv1d(
    x, weight: weight, bias: bias, stride: c.stride, padding: c.padding)
  let (atol, rtol) = gemmTolerance(c.inChannels * c.kernel)
  expectClose(fast, reference, atol: atol, rtol: rtol, c.testDescription)
}

@Test func conv1dMatchesPyTorchValues() {
  // python -c "import torch; x = torch.arange(10.).reshape(1, 2, 5); w = torch.tensor([[[1., 0.,
  //   -1.], [2., 1., 0.5]], [[0., 1., 0.], [0., 0., 0.]]]); print(torch.nn.functional.conv1d(x,
  //   w, torch.tensor([0.5, -1.]), stride=2, padding=1).tolist())"
  // -> [[[7.5, 21.5, 28.5], [-1.0, 1.0, 3.0]]]
  let x = Tensor(shape: [1, 2, 5], scalars: (0..<10).map(Float.init))
  let w = Tensor(shape: [2, 2, 3], scalars: [1, 0, -1, 2, 1, 0.5, 0, 1, 0, 0, 0, 0])
  let y = conv1d(x, weight: w, bias: Tensor(shape: [2], scalars: [0.5, -1]), stride: 2, padding: 1)
  #expect(y.shape == [1, 2, 3])
  #expect(y.scalars == [7.5, 21.5, 28.5, -1, 1, 3])
}

struct PatchEmbedCase: Sendable, CustomTestStringConvertible {
  var batch, channels, height, width, dim, patch: Int
  var bias = true
  var testDescription: String {
    "[\(batch), \(channels), \(height), \(width)] patch \(patch) -> \(dim)\(bias ? " + bias" : "")"
  }
}

let patchEmbedCases: [PatchEmbedCase] = [
  PatchEmbedCase(batch: 1, channels: 1, height: 1, width: 1, dim: 1, patch: 1),
  PatchEmbedCase(batch: 1, channels: 3, height: 4, width: 4, dim: 5, patch: 2),
  PatchEmbedCase(batch: 2, channels: 3, height: 8, width: 8, dim: 8, patch: 4, bias: false),
  PatchEmbedCase(batch: 1, channels: 3, height: 9, width: 9, dim: 7, patch: 3),
  PatchEmbedCase(batch: 1, channels: 3, height: 10, width: 11, dim: 7, patch: 3),
  PatchEmbedCase(batch: 3, channels: 1, height: 5, width: 7, dim: 2, patch: 1),
  PatchEmbedCase(batch: 1, channels: 2, height: 6, width: 12, dim: 3, patch: 6),
  PatchEmbedCase(batch: 1, channels: 3, height: 32, width: 32, dim: 16, patch: 8),
  PatchEmbedCase(batch: 2, channels: 3, height: 32, width: 32, dim: 13, patch: 16),
  PatchEmbedCase(batch: 1, channels: 3, height: 17, width: 17, dim: 4, patch: 16),
  PatchEmbedCase(batch: 1, channels: 4, height: 14, width: 21, dim: 9, patch: 7),
  PatchEmbedCase(batch: 2, channels: 3, height: 5, width: 5, dim: 31, patch: 5, bias: false),
  PatchEmbedCase(batch: 1, channels: 5, height: 3, width: 6, dim: 1, patch: 3),
  PatchEmbedCase(batch: 4, channels: 3, height: 4, width: 2, dim: 6, patch: 2),
  PatchEmbedCase(batch: 1, channels: 3, height: 13, width: 13, dim: 10, patch: 2),
  PatchEmbedCase(batch: 1, channels: 1, height: 64, width: 64, dim: 3, patch: 32),
  PatchEmbedCase(batch: 2, channels: 3, height: 7, width: 9, dim: 17, patch: 3),
  PatchEmbedCase(batch: 1, channels: 2, height: 1, width: 8, dim: 4, patch: 1),
  PatchEmbedCase(batch: 1, channels: 3, height: 48, width: 48, dim: 24, patch: 16),
  PatchEmbedCase(batch: 3, channels: 3, height: 6, width: 6, dim: 2, patch: 6),
]

@Test(arguments: patchEmbedCases.enumerated().map { $0 })
func patchEmbedMatchesReference(index: Int, c: PatchEmbedCase) {
  let seed = UInt64(3 * index + 4000)
  let images = randomTensor([c.batch, c.channels, c.height, c.width], seed: seed)
  let weight = randomTensor([c.dim, c.channels, c.patch, c.patch], seed: seed + 1)
  let bias = c.bias ? randomTensor([c.dim], seed: seed + 2) : nil
  let (atol, rtol) = gemmTolerance(c.channels * c.patch * c.patch)
  expectClose(
    patchEmbed(images, weight: weight, bias: bias),
    Reference.patchEmbed(images, weight: weight, bias: bias), atol: atol, rtol: rtol,
    c.testDescription)
}

struct AvgPoolCase: Sendable, CustomTestStringConvertible {
  var batch, channels, length, kernel, stride: Int
  var testDescription: String {
    "[\(batch), \(channels), \(length)] kernel \(kernel) stride \(stride)"
  }
}

let avgPoolCases: [AvgPoolCase] = [
  AvgPoolCase(batch: 1, channels: 1, length: 1, kernel: 1, stride: 1),
  AvgPoolCase(batch: 1, channels: 1, length: 2, kernel: 2, stride: 2),
  AvgPoolCase(batch: 1, channels: 1, length: 3, kernel: 2, stride: 2),
  AvgPoolCase(batch: 2, channels: 3, length: 7, kernel: 3, stride: 1),
  AvgPoolCase(batch: 2, channels: 3, length: 7, kernel: 3, stride: 2),
  AvgPoolCase(batch: 1, channels: 5, length: 13, kernel: 4, stride: 3),
  AvgPoolCase(batch: 3, channels: 2, length: 17, kernel: 5, stride: 5),
  AvgPoolCase(batch: 1, channels: 8, length: 31, kernel: 2, stride: 2),
  AvgPoolCase(batch: 1, channels: 1, length: 100, kernel: 10, stride: 7),
  AvgPoolCase(batch: 4, channels: 4, length: 4, kernel: 4, stride: 1),
  AvgPoolCase(batch: 1, channels: 7, length: 64, kernel: 8, stride: 8),
  AvgPoolCase(batch: 1, channels: 3, length: 29, kernel: 1, stride: 3),
  AvgPoolCase(batch: 2, channels: 6, length: 11, kernel: 6, stride: 4),
  AvgPoolCase(batch: 1, channels: 2, length: 1500, kernel: 2, stride: 2),
  AvgPoolCase(batch: 1, channels: 2, length: 1501, kernel: 3, stride: 2),
  AvgPoolCase(batch: 5, channels: 1, length: 9, kernel: 9, stride: 9),
  AvgPoolCase(batch: 1, channels: 9, length: 23, kernel: 7, stride: 2),
  AvgPoolCase(batch: 2, channels: 2, length: 50, kernel: 3, stride: 10),
  AvgPoolCase(batch: 1, channels: 11, length: 12, kernel: 5, stride: 1),
  AvgPoolCase(batch: 0, channels: 3, length: 4, kernel: 2, stride: 2),
]

@Test(arguments: avgPoolCases.enumerated().map { $0 })
func avgPool1dMatchesReference(index: Int, c: AvgPoolCase) {
  let x = randomTensor([c.batch, c.channels, c.length], seed: UInt64(5000 + index))
  // A float32 sum of `kernel` values in [-1, 1], then one division.
  let (atol, rtol) = gemmTolerance(c.kernel)
  expectClose(
    avgPool1d(x, kernel: c.kernel, stride: c.stride),
    Reference.avgPool1d(x, kernel: c.kernel, stride: c.stride), atol: atol, rtol: rtol,
    c.testDescription)
}
