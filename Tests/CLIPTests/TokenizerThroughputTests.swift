import CLIP
import Foundation
import Testing

/// Tokens per second on a long English text; runs only with MMENCODE_BENCH set, best in release:
///   MMENCODE_BENCH=1 swift test -c release --filter TokenizerThroughputTests
/// The slow Hugging Face tokenizer on the same text: /tmp/venv/bin/python fixtures/gen_tokenizer.py bench
@Suite(.enabled(if: ProcessInfo.processInfo.environment["MMENCODE_BENCH"] != nil))
struct TokenizerThroughputTests {
  static let runs = 5

  @Test func longEnglishText() throws {
    let tokenizer = try TokenizerFixtures.tokenizer()
    let bench = try TokenizerFixtures.corpus().bench
    let text = Array(repeating: bench.text, count: bench.repeats).joined(separator: " ")
    _ = tokenizer.encode(bench.text)  // warm the word cache, as the Python side does
    var best = Double.infinity
    var count = 0
    for _ in 0..<Self.runs {
      let start = DispatchTime.now().uptimeNanoseconds
      count = tokenizer.encode(text).count
      best = min(best, Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
    }
    let rate = Double(count) / best
    print(
      "Swift CLIPTokenizer: \(count) tokens in \(String(format: "%.3f", best)) s = \(Int(rate)) tokens/s"
    )
    #expect(count > 0)
  }
}
