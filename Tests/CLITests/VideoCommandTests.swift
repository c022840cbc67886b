import Core
import Foundation
import TestSupport
import Testing

// `mmencode video` end to end on the built binary: output layout and metadata, agreement with
// transformers for a known frame, many inputs with a bad one, --list, JSON progress.

private let model = Repository.fixture("models/clip-tiny-a")
private let sample = Repository.fixture("media/sample.mp4")
/// transformers' embeddings of frames saved losslessly (fixtures/gen_video.py).
private let reference = try! SafeTensorsFile(path: Repository.fixture("reference/video/embeddings.safetensors"))
/// 1e-4 absolute, the issue's bar: same pixels, float32 on both sides (differences seen ~1e-6).
private let tolerance: Float = 1e-4


@Test func oneVideoWritesTheExportLayoutWithMetadata() throws {
  let directory = try makeTemporaryDirectory()
  defer { try? FileManager.default.removeItem(at: directory) }
  let out = directory.appendingPathComponent("sample.safetensors").path
  // The default subcommand: no `video`. 3 s at 2 fps is six frames.
  let result = try CLI.run([sample, "-m", model, "--fps", "2", "-o", out, "--no-cache"])
  #expect(result.status == 0, "stderr: \(result.stderr)")
  #expect(result.stdout.contains("6 frames") && result.stdout.contains(out), "stdout: \(result.stdout)")

  let file = try SafeTensorsFile(path: out)
  #expect(file.names == ["embeddings", "frame_index", "pts", "timestamps"])
  #expect(file.entries["embeddings"]?.dtype == "F32" && file.entries["embeddings"]?.shape == [6, 24])
  #expect(file.entries["timestamps"]?.dtype == "F64")
  #expect(file.entries["pts"]?.dtype == "I64" && file.entries["frame_index"]?.dtype == "I64")
  guard case .int64(let frames) = try file.array("frame_index").values else { throw CLITestError.wrongType }
  // Ticks 0, 0.5, ..., 2.5 s at 25 fps.
  #expect(frames == [0, 12, 25, 37, 50, 62])
  guard case .float64(let times) = try file.array("timestamps").values else { throw CLITestError.wrongType }
  #expect(zip(times, frames).allSatisfy { abs($0 - Double($1) / 25) < 1e-9 })

  let m = file.metadata
  #expect(m["source.sha256"] == (try sha256(file: sample)))
  #expect(m["source.path"] == sample)
  #expect(m["model.sha256"] == (try modelHash(directory: model)))
  #expect(m["frames.indexed"] == "75" && m["frames.used"] == "indexed")
  #expect(m["sampler"] == "uniform" && m["sampler.fps"] == "2.0")
  #expect(m["counts.frames"] == "6" && m["counts.encoded"] == "6" && m["counts.from_cache"] == "0")
  #expect(m["time_base"] == "1/12800")
  #expect(m["recipe.id"]?.count == 64)
  let recipe = try #require(m["recipe"].flatMap { try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] })
  #expect(recipe["modelSHA256"] as? String == m["model.sha256"])
  #expect(m["mmencode.version"] != nil)
}

@Test func aKnownFrameMatchesTransformers() throws {
  let directory = try makeTemporaryDirectory()
  defer { try? FileManager.default.removeItem(at: directory) }
  let out = directory.appendingPathComponent("frame30.safetensors").path
  // [1.2, 1.24) s holds frame 30 alone.
  let result = try CLI.run([
    "video", sample, "-m", model, "--frames", "1", "--start", "1.2", "--end", "1.24", "-o", out, "--no-cache",
  ])
  #expect(result.status == 0, "stderr: \(result.stderr)")
  let embeddings = try SafeTensorsFile(path: out).tensor("embeddings")
  let expected = try reference.tensor("sample_30.image_embeds")
  let difference = maxAbsDifference(embeddings, expected)
  #expect(difference <= tolerance, "max |mmencode - transformers| = \(difference)")
}

@Test func npyOutputHoldsTheSameArrays() throws {
  let directory = try makeTemporaryDirectory()
  defer { try? FileManager.default.removeItem(at: directory) }
  let st = directory.appendingPathComponent("a.safetensors").path
  let npy = directory.appendingPathComponent("a_npy").path
  let common = [sample, "-m", model, "--frames", "4", "--tokens", "--no-cache"]
  #expect(try CLI.run(common + ["-o", st]).status == 0)
  let result = try CLI.run(common + ["-o", npy, "--format", "npy"])
  #expect(result.status == 0, "stderr: \(result.stderr)")
  let (arrays, metadata) = try readNPYOutput(npy)
  let file = try SafeTensorsFile(path: st)
  #expect(arrays.map(\.name) == ["embeddings", "frame_index", "pts", "timestamps", "tokens"])
  for array in arrays { #expect(array == (try file.array(array.name)), "\(array.name)") }
  #expect(file.entries["tokens"]?.shape == [4, 17, 48])
  #expect(metadata["source.sha256"] == file.metadata["source.sha256"])
  #expect(metadata["recipe.id"] == file.metadata["recipe.id"])
}

@Test func oneBadFileAmongManyFailsAloneAndTheOthersAreComplete() throws {
  let directory = try makeTemporaryDirectory()
  defer { try? FileManager.default.removeItem(at: directory) }
  let out = directory.appendingPathComponent("out").path
  let bad = Repository.fixture("media/not_media.mp4")
  let truncated = Repository.fixture("media/truncated.mp4")
  let result = try CLI.run([
    Repository.fixture("media/h264_bframes.mp4"), bad, Repository.fixture("media/vfr.mkv"), truncated, "-m", model,
    "--frames", "3", "-o", out, "--no-cache",
  ])
  #expect(result.status != 0)
  let errors = result.stderr.split(separator: "\n")
  #expect(errors.count == 2, "stderr: \(result.stderr)")
  #expect(errors.contains { $0.hasPrefix("mmencode: \(bad): ") })
  #expect(errors.contains { $0.hasPrefix("mmencode: \(truncated): ") })
  let written = try FileManager.default.contentsOfDirectory(atPath: out).sorted()
  #expect(written == ["h264_bframes.safetensors", "vfr.safetensors"])
  for name in written {
    let file = try SafeTensorsFile(path: out + "/" + name)
    #expect(file.entries["embeddings"]?.shape == [3, 24], "\(name)")
  }
}

@Test func listFilesAddInputsAndRepeatedNamesGetNumbered() throws {
  let directory = try makeTemporaryDirectory()
  defer { try? FileManager.default.removeItem(at: directory) }
  let copy = directory.appendingPathComponent("h264_bframes.mp4")
  try FileManager.default.copyItem(atPath: Repository.fixture("media/h264_bframes.mp4"), toPath: copy.path)
  let list = directory.appendingPathComponent("videos.txt")
  try "# two files with one name\n\(Repository.fixture("media/h264_bframes.mp4"))\n\n\(copy.path)\n".write(
    to: list, atomically: true, encoding: .utf8)
  let out = directory.appendingPathComponent("out").path
  let result = try CLI.run([
    "video", "--list", list.path, "-m", model, "--frames", "2", "-o", out, "--no-cache", "--progress", "json",
  ])
  #expect(result.status == 0, "stderr: \(result.stderr)")
  #expect(try FileManager.default.contentsOfDirectory(atPath: out).sorted() == [
    "h264_bframes-2.safetensors", "h264_bframes.safetensors",
  ])
  // Same bytes, so the same source hash.
  let first = try SafeTensorsFile(path: out + "/h264_bframes.safetensors").metadata
  let second = try SafeTensorsFile(path: out + "/h264_bframes-2.safetensors").metadata
  #expect(first["source.sha256"] == second["source.sha256"])
  #expect(first["source.path"] != second["source.path"])

  // --progress json: the last object per input carries the counts.
  let done = result.stderr.split(separator: "\n").compactMap {
    try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
  }.filter { $0["event"] as? String == "done" }
  #expect(done.count == 2)
  for object in done {
    #expect(object["frames"] as? Int == 2)
    #expect(object["frames_encoded"] as? Int == 2)
    #expect(object["frames_from_cache"] as? Int == 0)
    #expect((object["frames_decoded"] as? Int ?? 0) >= 2)
    #expect(object["seconds"] is Double)
  }
}

@Test func withoutAModelTheErrorSaysHowToGetOne() throws {
  let directory = try makeTemporaryDirectory()
  defer { try? FileManager.default.removeItem(at: directory) }
  let result = try CLI.run(
    [sample, "--no-cache", "-o", directory.appendingPathComponent("x.safetensors").path],
    environment: ["HF_HUB_CACHE": directory.path, "MMENCODE_MODEL": ""])
  #expect(result.status != 0)
  #expect(result.stderr.contains("openai/clip-vit-base-patch32") && result.stderr.contains("hf download"), "\(result.stderr)")

  let viaEnvironment = try CLI.run(
    [sample, "--frames", "1", "--no-cache", "-o", directory.appendingPathComponent("y.safetensors").path],
    environment: ["MMENCODE_MODEL": model])
  #expect(viaEnvironment.status == 0, "stderr: \(viaEnvironment.stderr)")
}

@Test func conflictingOptionsAreRefused() throws {
  for arguments in [
    [sample, "--frames", "2", "--fps", "1"], [sample, "--sampler", "hf"], [sample, "--sampler", "vila", "--fps", "1"],
    [sample, "--frames", "0"], [sample, "--cache", "/tmp/x", "--no-cache"], ["video"],
  ] {
    let result = try CLI.run(arguments + ["-m", model])
    #expect(result.status != 0, "\(arguments)")
    #expect(!result.stderr.isEmpty)
  }
}

private enum CLITestError: Error { case wrongType }
