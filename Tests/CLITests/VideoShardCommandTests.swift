import Foundation
import TestSupport
import Testing

// `mmencode video --shard i/N`: N processes given one list write every output exactly once, and an
// input's shard depends on its path alone.

private let model = Repository.fixture("models/clip-tiny-a")
/// Relative to the repository root (where CLI.run starts the tool), so each input's shard is the
/// same in every checkout.
private let videos = ["sample.mp4", "vp9.webm", "mpeg4.mp4", "h264_bframes.mp4", "odd_67x39.webm", "ffv1.mkv"]
  .map { "fixtures/media/\($0)" }

/// The outputs `mmencode video --shard SHARD` writes for `inputs` into a fresh directory.
private func outputs(
  of inputs: [String], shard: String, environment: [String: String] = [:]
) throws -> (names: Set<String>, stderr: String) {
  try withTemporaryDirectory { directory in
    let result = try CLI.run(
      ["video"] + inputs + [
        "-m", model, "--frames", "1", "--no-cache", "--progress", "none", "-o", directory, "--shard", shard,
      ], environment: environment)
    #expect(result.status == 0, "stderr: \(result.stderr)")
    return (Set(try FileManager.default.contentsOfDirectory(atPath: directory)), result.stderr)
  }
}

@Test func shardsSplitTheInputsWithoutOverlapOrGaps() throws {
  let (first, firstLog) = try outputs(of: videos, shard: "0/2")
  let (second, secondLog) = try outputs(of: videos, shard: "1/2")
  let all = Set(videos.map { (($0 as NSString).lastPathComponent as NSString).deletingPathExtension + ".safetensors" })
  #expect(!first.isEmpty && !second.isEmpty, "one shard got every input: \(first) \(second)")
  #expect(first.isDisjoint(with: second))
  #expect(first.union(second) == all)
  #expect(firstLog.contains("shard 0/2: \(first.count) of \(videos.count) inputs"), "\(firstLog)")
  #expect(secondLog.contains("shard 1/2: \(second.count) of \(videos.count) inputs"), "\(secondLog)")
}

@Test func reorderingTheListMovesNoInput() throws {
  let forward = try outputs(of: videos, shard: "1/3").names
  let reversed = try outputs(of: videos.reversed(), shard: "1/3").names
  #expect(!forward.isEmpty && forward.count < videos.count)
  #expect(forward == reversed)
}

@Test func autoReadsSlurmThenTorchrunVariables() throws {
  let explicit = try outputs(of: videos, shard: "1/2").names
  #expect(try outputs(of: videos, shard: "auto", environment: ["SLURM_PROCID": "1", "SLURM_NTASKS": "2"]).names == explicit)
  #expect(try outputs(of: videos, shard: "auto", environment: ["RANK": "1", "WORLD_SIZE": "2"]).names == explicit)
}

@Test(arguments: ["2/2", "-1/2", "0/0", "1", "a/b"])
func aShardOutsideItsCountIsRefused(shard: String) throws {
  let result = try CLI.run(["video", videos[0], "-m", model, "--shard", shard])
  #expect(result.status != 0)
  #expect(result.stderr.contains("--shard"), "stderr: \(result.stderr)")
}
