import Core
import Foundation
import TestSupport
import Testing

/// Model references resolved in a real directory tree laid out like the Hugging Face hub cache.
@Suite struct HubCacheTests {
  let directory: TemporaryDirectory
  let cache: HubCache
  static let mainCommit = "1f5e2c3a9d7b6e4f0a8c2d1e3b5a7f9c0d2e4f6a"
  static let tagCommit = "0123456789abcdef0123456789abcdef01234567"
  static let detachedCommit = "fedcba9876543210fedcba9876543210fedcba98"

  init() throws {
    directory = try TemporaryDirectory()
    cache = HubCache(root: directory.file("hub"))
    let repo = cache.root + "/models--openai--clip-vit-base-patch32"
    for commit in [Self.mainCommit, Self.tagCommit, Self.detachedCommit] {
      try FileManager.default.createDirectory(
        atPath: repo + "/snapshots/" + commit, withIntermediateDirectories: true)
      try Data("{}".utf8).write(
        to: URL(fileURLWithPath: repo + "/snapshots/" + commit + "/config.json"))
    }
    try FileManager.default.createDirectory(
      atPath: repo + "/refs", withIntermediateDirectories: true)
    try Self.mainCommit.write(toFile: repo + "/refs/main", atomically: true, encoding: .utf8)
    try (Self.tagCommit + "\n").write(
      toFile: repo + "/refs/v1.0", atomically: true, encoding: .utf8)
    let legacy = cache.root + "/models--gpt2"
    try FileManager.default.createDirectory(
      atPath: legacy + "/snapshots/" + Self.mainCommit, withIntermediateDirectories: true)
    try FileManager.default.createDirectory(
      atPath: legacy + "/refs", withIntermediateDirectories: true)
    try Self.mainCommit.write(toFile: legacy + "/refs/main", atomically: true, encoding: .utf8)
  }

  func snapshot(_ commit: String, repo: String = "models--openai--clip-vit-base-patch32") -> String
  {
    cache.root + "/" + repo + "/snapshots/" + commit
  }

  @Test func repoIDResolvesThroughRefsMain() throws {
    #expect(
      try resolveModelDirectory("openai/clip-vit-base-patch32", cache: cache)
        == snapshot(Self.mainCommit))
    #expect(
      try resolveModelDirectory("gpt2", cache: cache)
        == snapshot(Self.mainCommit, repo: "models--gpt2"))
  }

  @Test func revisionsByTagOrCommit() throws {
    #expect(
      try resolveModelDirectory("openai/clip-vit-base-patch32@v1.0", cache: cache)
        == snapshot(Self.tagCommit))
    #expect(
      try resolveModelDirectory("openai/clip-vit-base-patch32@\(Self.detachedCommit)", cache: cache)
        == snapshot(Self.detachedCommit))
  }

  @Test func localDirectoryWins() throws {
    #expect(try resolveModelDirectory(directory.path, cache: cache) == directory.path)
  }

  @Test func missingModelSaysHowToGetIt() {
    let expected = WeightError.modelNotInCache(
      repo: "openai/clip-vit-large-patch14", revision: nil, cache: cache.root)
    #expect(throws: expected) {
      try resolveModelDirectory("openai/clip-vit-large-patch14", cache: cache)
    }
    let message = expected.localizedDescription
    #expect(message.contains("hf download openai/clip-vit-large-patch14`"))
    #expect(message.contains("huggingface-cli download openai/clip-vit-large-patch14`"))
    #expect(message.contains(cache.root) && message.contains("directory"))
  }

  @Test func missingRevisionSaysWhichOne() {
    let expected = WeightError.modelNotInCache(
      repo: "openai/clip-vit-base-patch32", revision: "v2", cache: cache.root)
    #expect(throws: expected) {
      try resolveModelDirectory("openai/clip-vit-base-patch32@v2", cache: cache)
    }
    #expect(
      expected.localizedDescription.contains(
        "hf download openai/clip-vit-base-patch32 --revision v2"))
  }

  @Test(arguments: [
    "a--b/c", "org/name/extra", "-org/name", "org/name.", "org/na..me", "org/name.git",
    "/no/such/dir",
    "./relative", "org/name@", "org/name@../../x", "org/name@/etc",
  ])
  func neitherDirectoryNorRepoID(reference: String) {
    #expect(
      throws: WeightError.unreadable(
        path: reference,
        reason: "no such directory, and not a Hugging Face repo id (org/name or org/name@revision)")
    ) { try resolveModelDirectory(reference, cache: cache) }
  }

  @Test func fileIsNotAModel() throws {
    let file = directory.file("model.safetensors")
    try Data().write(to: URL(fileURLWithPath: file))
    #expect(throws: WeightError.self) { try resolveModelDirectory(file, cache: cache) }
  }

  @Test func cacheLocationFollowsHuggingFaceHub() {
    let home = ["HOME": "/home/u"]
    #expect(HubCache(environment: home).root == "/home/u/.cache/huggingface/hub")
    #expect(
      HubCache(environment: home.merging(["XDG_CACHE_HOME": "/xdg"]) { $1 }).root
        == "/xdg/huggingface/hub")
    #expect(
      HubCache(environment: home.merging(["XDG_CACHE_HOME": "/xdg", "HF_HOME": "~/hf"]) { $1 }).root
        == "/home/u/hf/hub")
    #expect(
      HubCache(
        environment: home.merging(["HF_HOME": "/hf", "HUGGINGFACE_HUB_CACHE": "/legacy"]) { $1 }
      ).root == "/legacy")
    #expect(
      HubCache(
        environment: home.merging([
          "HF_HOME": "/hf", "HUGGINGFACE_HUB_CACHE": "/legacy", "HF_HUB_CACHE": "/hub",
        ]) { $1 }
      )
      .root == "/hub")
    #expect(
      HubCache(environment: home.merging(["HF_HUB_CACHE": ""]) { $1 }).root
        == "/home/u/.cache/huggingface/hub")
  }
}
