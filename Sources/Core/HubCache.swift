import Foundation

/// The local Hugging Face hub cache, read offline (mmencode never downloads).
///
/// Layout, as `huggingface_hub` writes it:
/// ```
/// <root>/models--<org>--<name>/refs/<branch or tag>   (a file holding a commit hash)
/// <root>/models--<org>--<name>/snapshots/<commit>/    (config.json, model.safetensors, ...)
/// ```
public struct HubCache: Sendable, Equatable {
  /// The hub cache directory (the one holding `models--*` directories).
  public let root: String

  /// Revision used when none is given.
  public static let defaultRevision = "main"

  /// The cache at `root`.
  public init(root: String) {
    self.root = root
  }

  /// The cache `huggingface_hub` 0.36 uses for `environment`: `$HF_HUB_CACHE`, else the legacy
  /// `$HUGGINGFACE_HUB_CACHE`, else `$HF_HOME/hub`, else `$XDG_CACHE_HOME/huggingface/hub`, else
  /// `~/.cache/huggingface/hub`. A leading `~` is expanded (`$VAR` inside values is not).
  public init(environment: [String: String] = ProcessInfo.processInfo.environment) {
    let home = environment["HOME"].flatMap { $0.isEmpty ? nil : $0 } ?? NSHomeDirectory()
    func value(_ name: String) -> String? {
      guard let value = environment[name], !value.isEmpty else { return nil }
      if value == "~" { return home }
      if value.hasPrefix("~/") { return home + value.dropFirst() }
      return value
    }
    let hfHome =
      value("HF_HOME") ?? ((value("XDG_CACHE_HOME") ?? home + "/.cache") + "/huggingface")
    root = value("HF_HUB_CACHE") ?? value("HUGGINGFACE_HUB_CACHE") ?? hfHome + "/hub"
  }

  /// The snapshot directory of model `repo` (`org/name` or `name`) at `revision` (a branch or tag
  /// under `refs/`, or a commit hash), or nil when the cache does not hold it.
  public func snapshot(repo: String, revision: String? = nil) -> String? {
    let revision = revision ?? Self.defaultRevision
    guard isValidRepoID(repo), isValidRevision(revision) else { return nil }
    let repoDirectory = root + "/models--" + repo.replacingOccurrences(of: "/", with: "--")
    var commit = revision
    if let ref = try? String(contentsOfFile: repoDirectory + "/refs/" + revision, encoding: .utf8) {
      commit = ref.trimmingCharacters(in: .whitespacesAndNewlines)
    }
    guard isValidRevision(commit), !commit.contains("/") else { return nil }
    let snapshot = repoDirectory + "/snapshots/" + commit
    return isDirectory(snapshot) ? snapshot : nil
  }
}

/// The directory a `--model` argument names: `reference` itself when it is a directory, else
/// a Hugging Face repo id `org/name` (optionally `org/name@revision`) resolved in `cache`.
///
/// Throws ``WeightError/modelNotInCache(repo:revision:cache:)`` (whose message says how to
/// download the model) when a repo id is not cached, and ``WeightError/unreadable(path:reason:)``
/// when `reference` is neither a directory nor a repo id.
public func resolveModelDirectory(_ reference: String, cache: HubCache = HubCache()) throws
  -> String
{
  if isDirectory(reference) { return reference }
  if FileManager.default.fileExists(atPath: reference) {
    throw WeightError.unreadable(
      path: reference,
      reason: "not a directory (a model is a directory holding config.json and the weights)")
  }
  let parts = reference.split(separator: "@", maxSplits: 1, omittingEmptySubsequences: false).map(
    String.init)
  let repo = parts[0]
  let revision = parts.count == 2 ? parts[1] : nil
  guard isValidRepoID(repo), revision.map(isValidRevision) ?? true else {
    throw WeightError.unreadable(
      path: reference,
      reason: "no such directory, and not a Hugging Face repo id (org/name or org/name@revision)")
  }
  if let snapshot = cache.snapshot(repo: repo, revision: revision) { return snapshot }
  throw WeightError.modelNotInCache(repo: repo, revision: revision, cache: cache.root)
}

/// `huggingface_hub`'s repo id rules: `name` or `namespace/name`; letters, digits, `-`, `_`, `.`;
/// no part starts or ends with `-` or `.`; no `--` or `..`; not ending in `.git`; a name of at
/// most 96 characters.
private func isValidRepoID(_ repo: String) -> Bool {
  let maximumNameLength = 96
  let parts = repo.split(separator: "/", omittingEmptySubsequences: false)
  guard (1...2).contains(parts.count), let name = parts.last, name.count <= maximumNameLength,
    !repo.contains("--"), !repo.contains(".."), !repo.hasSuffix(".git")
  else { return false }
  return parts.allSatisfy { part in
    guard let first = part.first, let last = part.last else { return false }
    let edges: Set<Character> = ["-", "."]
    return !edges.contains(first) && !edges.contains(last)
      && part.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || "-_.".contains($0)) }
  }
}

/// A branch, tag or commit that stays inside the repo's `refs/` and `snapshots/` directories.
private func isValidRevision(_ revision: String) -> Bool {
  !revision.isEmpty && !revision.hasPrefix("/") && !revision.split(separator: "/").contains("..")
    && !revision.split(separator: "/").contains(".") && !revision.contains("\0")
}
