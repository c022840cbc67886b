import Core
import Foundation
import TestSupport
import Testing

/// What the text and convert command tests share: the long-text references of
/// fixtures/gen_longtext.py, and comparing an output file with them.
enum TextFixtures {
  /// Absolute tolerance against transformers (float32 on both sides; observed ~2e-6).
  static let tolerance: Float = 1e-4

  static func reference(_ model: String) throws -> SafeTensorsFile {
    try SafeTensorsFile(path: Repository.fixture("reference/longtext/\(model).safetensors"))
  }

  /// The texts of one group of fixtures/reference/longtext/texts.json.
  static func texts(_ group: String) throws -> [String] {
    let data = try Data(contentsOf: URL(fileURLWithPath: Repository.fixture("reference/longtext/texts.json")))
    let groups = try JSONDecoder().decode([String: [String]].self, from: data)
    return try #require(groups[group])
  }

  /// Runs `mmencode arguments` and expects success.
  @discardableResult
  static func run(_ arguments: [String], sourceLocation: SourceLocation = #_sourceLocation) throws -> CLI.Result {
    let result = try CLI.run(arguments)
    #expect(result.status == 0, "mmencode \(arguments.joined(separator: " ")): \(result.stderr)", sourceLocation: sourceLocation)
    return result
  }

  /// Runs `mmencode arguments`, expects failure with exactly one line on stderr containing every
  /// one of `needles`, and returns that line.
  @discardableResult
  static func fail(
    _ arguments: [String], mentioning needles: [String], sourceLocation: SourceLocation = #_sourceLocation
  ) throws -> String {
    let result = try CLI.run(arguments)
    #expect(result.status != 0, "expected a failure: \(arguments)", sourceLocation: sourceLocation)
    let lines = result.stderr.split(separator: "\n")
    #expect(lines.count == 1, "stderr: \(result.stderr)", sourceLocation: sourceLocation)
    for needle in needles {
      #expect(result.stderr.contains(needle), "'\(needle)' not in: \(result.stderr)", sourceLocation: sourceLocation)
    }
    return result.stderr
  }
}

/// Expects the float array `name` of `output` to match `expectedName` of `reference`.
func expectOutput(
  _ output: SafeTensorsFile, _ name: String, matches reference: SafeTensorsFile, _ expectedName: String,
  sourceLocation: SourceLocation = #_sourceLocation
) throws {
  let actual = try output.tensor(name)
  let expected = try reference.tensor(expectedName)
  #expect(actual.shape == expected.shape, "\(name): \(actual.shape) vs \(expected.shape)", sourceLocation: sourceLocation)
  let difference = maxAbsDifference(actual, expected)
  print("\(expectedName) via CLI: max abs diff \(difference)")
  #expect(difference <= TextFixtures.tolerance, "\(name) vs \(expectedName): max abs diff \(difference)",
    sourceLocation: sourceLocation)
}

/// Expects the int64 array `name` of `output` to equal `expectedName` of `reference`.
func expectIDs(
  _ output: SafeTensorsFile, _ name: String, equal reference: SafeTensorsFile, _ expectedName: String,
  sourceLocation: SourceLocation = #_sourceLocation
) throws {
  let actual = try output.array(name)
  let expected = try reference.array(expectedName)
  #expect(
    actual.shape == expected.shape && actual.values == expected.values, "\(name) vs \(expectedName)",
    sourceLocation: sourceLocation)
}
