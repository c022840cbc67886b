import Core
import Foundation
import Testing

/// Archives whose pickles would run code. Each payload only creates its marker file, and the
/// generator checks that an unrestricted `torch.load` really does; keep in sync with MARKERS in
/// fixtures/gen_torch_archive.py.
let codeExecutingArchives: [(file: String, global: String, marker: String)] = [
  ("os_system.pt", "os.system", "/tmp/mmencode-torch-archive-marker-os-system"),
  ("posix_system.pt", "posix.system", "/tmp/mmencode-torch-archive-marker-posix-system"),
  ("builtins_eval.pt", "builtins.eval", "/tmp/mmencode-torch-archive-marker-builtins-eval"),
  ("subprocess_popen.pt", "subprocess.Popen", "/tmp/mmencode-torch-archive-marker-subprocess-popen"),
  ("stack_global_exec.pt", "builtins.exec", "/tmp/mmencode-torch-archive-marker-stack-global-exec"),
]

@Test(arguments: codeExecutingArchives.indices)
func codeExecutingPicklesAreRefusedAndNothingRuns(_ index: Int) throws {
  let (file, global, marker) = codeExecutingArchives[index]
  try? FileManager.default.removeItem(atPath: marker)
  let reason = TorchFixtures.malformedReason { _ = try TorchArchive(path: TorchFixtures.path("rejected/\(file)")) }
  #expect(reason?.contains("global '\(global)' is not allowed in a state dict") == true, "\(file): \(reason ?? "no error")")
  // subprocess.Popen would return before its child ran: give a child the time it would need.
  Thread.sleep(forTimeInterval: 0.2)
  #expect(!FileManager.default.fileExists(atPath: marker), "\(file): the payload ran")
}

@Test func refusalNamesTheOffendingOpcodeAndItsOffset() throws {
  let unknown = TorchFixtures.malformedReason { _ = try TorchArchive(path: TorchFixtures.path("rejected/unknown_opcode.pt")) }
  // PROTO (2 bytes), GLOBAL 'collections\nOrderedDict\n' (25), EMPTY_TUPLE, REDUCE, MARK, BINUNICODE 'weight' (11).
  #expect(unknown == "archive/data.pkl byte 41: unknown opcode 0xff")
  let inst = TorchFixtures.malformedReason { _ = try TorchArchive(path: TorchFixtures.path("rejected/inst_opcode.pt")) }
  #expect(inst == "archive/data.pkl byte 42: opcode INST (0x69) is not part of the state dict subset")
}

@Test(arguments: [
  ("truncated_half.pt", "not a readable zip archive (truncated or corrupt)"),
  ("truncated_tail.pt", "not a readable zip archive (truncated or corrupt)"),
  ("view_out_of_range.pt", "entry 'weight': a view of shape [2, 4], stride [4, 1] at offset 0 reaches storage element 7, but storage '0' holds 6 elements"),
  ("offset_out_of_range.pt", "entry 'weight': a view of shape [3], stride [1] at offset 4 reaches storage element 6, but storage '0' holds 6 elements"),
  ("storage_record_short.pt", "entry 'positional_embedding': storage record 'state_dict/data/0' holds 188 bytes, but the pickle declares 48 F32 elements (192 bytes)"),
  ("storage_record_missing.pt", "entry 'positional_embedding': its storage record 'state_dict/data/0' is missing"),
  ("torchscript.pt", "TorchScript archive (torch.jit.save), not a state dict"),
  ("legacy_format.pt", "legacy torch.save format (PyTorch before 1.6"),
  ("training_checkpoint.pt", "entry 'model' has type OrderedDict, not a tensor (a training checkpoint?"),
  ("tensor_list.pt", "the pickle holds an object of type list, not a state dict"),
])
func unsupportedArchivesAreRefusedWithAReason(_ file: String, _ expected: String) {
  let reason = TorchFixtures.malformedReason { _ = try TorchArchive(path: TorchFixtures.path("rejected/\(file)")) }
  #expect(reason?.contains(expected) == true, "\(file): \(reason ?? "no malformed error")")
}

@Test func corruptStorageFailsItsChecksumWhenRead() throws {
  let archive = try TorchArchive(path: TorchFixtures.path("rejected/storage_crc_mismatch.pt"))
  let reason = TorchFixtures.malformedReason { _ = try archive.tensor("positional_embedding") }
  #expect(reason == "entry 'positional_embedding': storage record 'state_dict/data/0' fails its CRC-32 check (corrupt file)")
  // Storages other than the corrupt one still read.
  expectBitIdentical(try archive.tensor("ln_final.weight"), try TorchFixtures.reference().tensor("ln_final.weight"), "ln_final.weight")
}

@Test func errorsNameTheFile() {
  let path = TorchFixtures.path("rejected/os_system.pt")
  do {
    _ = try TorchArchive(path: path)
    Issue.record("no error")
  } catch {
    #expect((error as? LocalizedError)?.errorDescription?.hasPrefix("\(path): malformed: archive/data.pkl byte ") == true)
  }
}
