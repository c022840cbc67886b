import Core
import Foundation
import TestSupport
import Testing

// Exact parity: torch.load returns the stored bits, and widening fp16 / bf16 to fp32 is exact, so
// the tolerance is zero (compared as bit patterns).

@Test(arguments: TorchFixtures.readable)
func archiveMatchesTorchLoadBitForBit(_ file: String) throws {
  let archive = try TorchArchive(path: TorchFixtures.path(file))
  let reference = try TorchFixtures.reference()
  #expect(archive.names == reference.names)
  for name in reference.names {
    #expect(try archive.shape(of: name) == reference.entries[name]!.shape, "\(file): \(name)")
    #expect(try archive.dtype(of: name) == reference.metadata[name], "\(file): \(name)")
    switch reference.entries[name]!.dtype {
    case "F32": expectBitIdentical(try archive.tensor(name), try reference.tensor(name), "\(file): \(name)")
    default: #expect(try archive.array(name) == reference.array(name), "\(file): \(name)")
    }
  }
}

@Test func archiveFindsItsRecordFolderFromDataPkl() throws {
  #expect(try TorchArchive(path: TorchFixtures.path("state_dict.pt")).recordPrefix == "state_dict")
  // The rewritten variants keep torch's folder name although the file is named differently.
  #expect(try TorchArchive(path: TorchFixtures.path("state_dict_deflated.pt")).recordPrefix == "state_dict")
}

@Test func viewsResolveStridesOffsetsAndSharedStorages() throws {
  let archive = try TorchArchive(path: TorchFixtures.path("state_dict.pt"))
  let token = try archive.tensor("token_embedding.weight")  // [10, 8]
  let width = token.shape[1]
  #expect(try archive.tensor("views.rows") == token.rows(2..<5))
  #expect(try archive.tensor("views.transposed") == archive.tensor("text_projection").transposed())
  let columns = try archive.tensor("views.columns")
  #expect(columns.shape == [10, 3])
  #expect(columns.scalars == (0..<10).flatMap { row in (1..<4).map { token.scalars[row * width + $0] } })
  let strided = try archive.tensor("views.strided")
  #expect(strided.shape == [3, 4])
  #expect(strided.scalars == [1, 4, 7].flatMap { row in [0, 2, 4, 6].map { token.scalars[row * width + $0] } })
  let bias = try archive.tensor("ln_final.bias")
  #expect(try archive.tensor("views.expanded") == Tensor.stack([bias, bias, bias]))
  #expect(try archive.tensor("views.empty_slice").shape == [0, width])
  #expect(try archive.tensor("empty") == Tensor(shape: [0, width], scalars: []))
  #expect(try archive.tensor("logit_scale").shape == [])
}

@Test func nonFloatEntriesAreListedButNotWidenedToFloat() throws {
  let archive = try TorchArchive(path: TorchFixtures.path("state_dict.pt"))
  #expect(try archive.array("context_length") == NamedArray("context_length", shape: [], values: .int64([6])))
  #expect(throws: WeightError.unsupportedDType(path: archive.path, key: "context_length", dtype: "I64")) {
    try archive.tensor("context_length")
  }
  #expect(throws: WeightError.unsupportedDType(path: archive.path, key: "buffers.float64", dtype: "F64")) {
    try archive.tensor("buffers.float64")
  }
}

@Test func missingNamesAndFilesAreTypedErrors() throws {
  let archive = try TorchArchive(path: TorchFixtures.path("state_dict.pt"))
  #expect(!archive.contains("visual.proj"))
  #expect(throws: WeightError.missingTensor(path: archive.path, key: "visual.proj")) { try archive.tensor("visual.proj") }
  #expect(throws: WeightError.missingTensor(path: archive.path, key: "visual.proj")) { try archive.shape(of: "visual.proj") }
  let absent = TorchFixtures.path("absent.pt")
  #expect(throws: WeightError.unreadable(path: absent, reason: "no such file or directory")) { try TorchArchive(path: absent) }
  #expect(throws: WeightError.unreadable(path: TorchFixtures.directory.path, reason: "is a directory")) {
    try TorchArchive(path: TorchFixtures.directory.path)
  }
}

@Test func filesThatAreNotZipArchivesAreRefused() throws {
  let directory = try makeTemporaryDirectory()
  defer { try? FileManager.default.removeItem(at: directory) }
  let empty = directory.appendingPathComponent("empty.pt").path
  try Data().write(to: URL(fileURLWithPath: empty))
  #expect(throws: WeightError.malformed(path: empty, reason: "empty file")) { try TorchArchive(path: empty) }
  let text = directory.appendingPathComponent("text.pt").path
  try Data("not a checkpoint".utf8).write(to: URL(fileURLWithPath: text))
  #expect(throws: WeightError.malformed(path: text, reason: "not a zip archive, so not a torch.save file (PyTorch 1.6 or later)")) {
    try TorchArchive(path: text)
  }
}
