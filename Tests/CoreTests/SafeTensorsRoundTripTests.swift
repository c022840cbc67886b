import Core
import Foundation
import Testing

@Test func safeTensorsRoundTripsEveryOutputDType() throws {
  let dir = FileManager.default.temporaryDirectory.appendingPathComponent("mm-\(UUID())")
  try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
  defer { try? FileManager.default.removeItem(at: dir) }
  let path = dir.appendingPathComponent("a.safetensors").path
  let arrays = [
    NamedArray("f", Tensor(shape: [2, 3], scalars: [1, -2, 3.5, .pi, 0, -0])),
    NamedArray("d", shape: [2], values: .float64([0.1, 1e300])),
    NamedArray("i", shape: [3], values: .int64([-1, 0, Int64.max])),
  ]
  try writeSafeTensors(arrays, metadata: ["k": "v"], to: path)
  let file = try SafeTensorsFile(path: path)
  #expect(file.metadata == ["k": "v"])
  for a in arrays { #expect(try file.array(a.name) == a) }
}
