import Core
import Foundation
import TestSupport
import Testing

/// Writes the recipe arrays (fixtures/array_recipe.py) as mmencode outputs: `interop.safetensors`
/// and the npy directory `interop_npy/`. With `MMENCODE_INTEROP_DIR` set, they go there for
/// fixtures/check_interop.py to load with `safetensors.numpy.load_file` and `numpy.load`;
/// otherwise into a temporary directory. Either way they are read back here bit-exactly.
@Test func writesInteropFiles() throws {
  let temporary = try TemporaryDirectory()
  let directory = ProcessInfo.processInfo.environment["MMENCODE_INTEROP_DIR"] ?? temporary.path
  let arrays = WeightsRecipe.interopArrays
  let metadata = WeightsRecipe.interopMetadata
  let safetensors = directory + "/interop.safetensors"
  let npy = directory + "/interop_npy"
  try writeOutput(arrays, metadata: metadata, to: safetensors, format: .safetensors)
  try writeOutput(arrays, metadata: metadata, to: npy, format: .npy)

  let file = try SafeTensorsFile(path: safetensors)
  #expect(file.metadata == metadata)
  #expect(file.names == arrays.map(\.name).sorted())
  for array in arrays { #expect(sameBits(try file.array(array.name), array), "\(array.name)") }
  let output = try readNPYOutput(npy)
  #expect(output.metadata == metadata)
  let expected = arrays.sorted { $0.name < $1.name }
  #expect(output.arrays.count == expected.count)
  for (read, array) in zip(output.arrays, expected) {
    #expect(sameBits(read, array), "\(array.name)")
  }
}
