import ArgumentParser
import Crypto
import Foundation

/// `--shard i/N`: the part of a long input list this process handles, so N processes (Slurm
/// tasks, torchrun ranks) split a dataset without coordinating.
///
/// An input belongs to shard `hash(path) mod N`, a function of the path alone, so reordering,
/// filtering or appending to the list never moves an input to another shard.
struct Shard: Equatable, CustomStringConvertible {
  let index: Int
  let count: Int

  /// Environment variables that give a process's rank and the number of processes, in the order
  /// they are tried: Slurm's, then torchrun's.
  static let launchers = [("SLURM_PROCID", "SLURM_NTASKS"), ("RANK", "WORLD_SIZE")]

  init(index: Int, count: Int) throws {
    guard count >= 1, (0..<count).contains(index) else {
      throw ValidationError("--shard \(index)/\(count): needs 0 <= i < N")
    }
    (self.index, self.count) = (index, count)
  }

  /// Parses `i/N`, or `auto` (from ``launchers`` in `environment`).
  init(_ text: String, environment: [String: String] = ProcessInfo.processInfo.environment) throws {
    if text == "auto" {
      for (rank, size) in Self.launchers {
        guard let i = environment[rank], let n = environment[size] else { continue }
        guard let index = Int(i), let count = Int(n) else {
          throw ValidationError("--shard auto: \(rank)=\(i) and \(size)=\(n) are not whole numbers")
        }
        try self.init(index: index, count: count)
        return
      }
      let names = Self.launchers.map { "\($0.0)/\($0.1)" }.joined(separator: " or ")
      throw ValidationError("--shard auto: neither \(names) is set; give --shard i/N")
    }
    let parts = text.split(separator: "/", omittingEmptySubsequences: false)
    guard parts.count == 2, let index = Int(parts[0]), let count = Int(parts[1]) else {
      throw ValidationError("--shard \(text): expected i/N (e.g. 0/8) or auto")
    }
    try self.init(index: index, count: count)
  }

  /// Whether this shard handles the input named `path` (as given on the command line or list).
  func owns(_ path: String) -> Bool {
    let digest = SHA256.hash(data: Data(path.utf8))
    let key = digest.prefix(8).reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
    return key % UInt64(count) == UInt64(index)
  }

  var description: String { "\(index)/\(count)" }
}
