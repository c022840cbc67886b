import CLIP
import Foundation
import Media
import Testing
import Video

@Test func equalRecipesHaveEqualIDs() {
  #expect(makeRecipe().id == makeRecipe().id)
  #expect(makeRecipe().canonicalBytes == makeRecipe().canonicalBytes)
  // Dictionary order never matters.
  var reordered = makeRecipe()
  reordered.decoder = Dictionary(uniqueKeysWithValues: fixedDecoderVersions.reversed())
  #expect(reordered.id == makeRecipe().id)
}

/// One change per field of the recipe (and of its nested settings).
private let singleFieldChanges: [(String, @Sendable (inout FrameRecipe) -> Void)] = [
  ("schema", { $0.schema += 1 }),
  ("decoder version", { $0.decoder["libavcodec"] = "59.37.101" }),
  ("decoder library added", { $0.decoder["libpostproc"] = "56.6.100" }),
  ("decoder library removed", { $0.decoder["libswresample"] = nil }),
  ("untagged matrix", { $0.color.untaggedMatrix = .bySize }),
  ("matrix override", { $0.color.matrix = .bt709 }),
  ("range override", { $0.color.range = .full }),
  ("resampler", { $0.preprocessing.resampler = "pillow-13.0-port-v2" }),
  ("convert to RGB", { $0.preprocessing.convertToRGB = false }),
  ("alpha", { $0.preprocessing.alpha = AlphaPolicy.drop.rawValue }),
  ("resize", { $0.preprocessing.resize = "shortest_edge=336 bicubic" }),
  ("no resize", { $0.preprocessing.resize = nil }),
  ("crop", { $0.preprocessing.crop = [224, 225] }),
  ("no crop", { $0.preprocessing.crop = nil }),
  ("rescale", { $0.preprocessing.rescaleFactor = 1.0 / 256 }),
  ("no rescale", { $0.preprocessing.rescaleFactor = nil }),
  ("mean", { $0.preprocessing.mean![2] = 0.40821074 }),
  ("no normalization mean", { $0.preprocessing.mean = nil }),
  ("std", { $0.preprocessing.std![0] = 0.5 }),
  ("model", { $0.modelSHA256 = String(repeating: "5f", count: 32) }),
  ("output", { $0.output = .embeddingsAndTokens }),
]

@Test func changingAnySingleFieldChangesTheID() {
  let base = makeRecipe()
  var ids = [base.id: "base"]
  for (name, change) in singleFieldChanges {
    var recipe = base
    change(&recipe)
    #expect(recipe != base, "\(name) did not change the recipe")
    if let clash = ids[recipe.id] { Issue.record("\(name) gives the id of \(clash)") }
    ids[recipe.id] = name
  }
  #expect(ids.count == singleFieldChanges.count + 1)
}

@Test func fieldsAreFramedSoTheyCannotBleedIntoEachOther() {
  // Unframed, both would serialize as "decoder.a" "bc" -> "decoder.abc".
  var first = makeRecipe()
  first.decoder = ["a": "bc"]
  var second = makeRecipe()
  second.decoder = ["ab": "c"]
  #expect(first.id != second.id)
  // An absent optional differs from an empty one.
  var empty = makeRecipe()
  empty.preprocessing.mean = []
  var absent = makeRecipe()
  absent.preprocessing.mean = nil
  #expect(empty.id != absent.id)
}

/// Every key path of the recipe's JSON, with arrays as leaves.
private func jsonKeyPaths(_ value: Any, prefix: String = "") -> Set<String> {
  guard let object = value as? [String: Any] else { return [prefix] }
  var paths: Set<String> = []
  for (key, child) in object {
    paths.formUnion(jsonKeyPaths(child, prefix: prefix.isEmpty ? key : prefix + "." + key))
  }
  return paths
}

@Test func theIDCoversEveryEncodedField() throws {
  // Every optional set, so every field appears in the JSON.
  var recipe = makeRecipe()
  recipe.color = ColorSettings(untaggedMatrix: .bySize, matrix: .bt709, range: .limited)
  let json = try JSONSerialization.jsonObject(with: try recipe.json())
  let canonical = Set(recipe.canonicalFields.map(\.name))
  let missing = jsonKeyPaths(json).subtracting(canonical)
  #expect(missing.isEmpty, "fields left out of the id: \(missing.sorted())")
}

@Test func theJSONRoundTrips() throws {
  var recipe = makeRecipe(output: .embeddingsAndTokens)
  recipe.color.matrix = .bt2020
  let decoded = try JSONDecoder().decode(FrameRecipe.self, from: try recipe.json())
  #expect(decoded == recipe)
  #expect(decoded.id == recipe.id)
}

@Test func theIDIsPinned() {
  // This value must change only together with FrameRecipe.currentSchema (or a deliberate change
  // of the canonical serialization): every cache entry on every machine lives under it.
  // Computed independently in Python from the documented framing, with `fields` the 18
  // (name, value) pairs of makeRecipe() (floats spelled by repr, lists comma-joined):
  //   b = b"".join(struct.pack("<Q", len(t.encode())) + t.encode()
  //                for k in sorted(fields, key=str.encode) for t in (k, fields[k]))
  //   hashlib.sha256(b).hexdigest()
  #expect(makeRecipe().canonicalFields.count == 18)
  #expect(makeRecipe().id == "1543afbcd2f0f816f9bef74c9d6b3023f8f49540aade529beb7bf6a047d74df6")
}

@Test func sourceFileStemsRoundTrip() {
  let source = makeSource(0xab, stream: 3)
  #expect(source.fileStem == String(repeating: "ab", count: 32) + "-3")
  #expect(SourceID(fileStem: source.fileStem) == source)
  for bad in [
    "", "ab-1", String(repeating: "AB", count: 32) + "-0", String(repeating: "ab", count: 32),
    String(repeating: "ab", count: 32) + "-01", String(repeating: "ab", count: 32) + "--1",
    String(repeating: "ab", count: 32) + "-1-2",
  ] {
    #expect(SourceID(fileStem: bad) == nil, "\(bad)")
  }
}
