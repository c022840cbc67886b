import CLIP
import Foundation
import Testing

/// Throughput on the corpus's bench text; runs only with MMENCODE_BENCH set, best in release:
///   MMENCODE_BENCH=1 swift test -c release --filter TokenizerThroughputTests
/// The slow Hugging Face tokenizer on the same inputs, measured the same way:
///   /tmp/venv/bin/python fixtures/gen_tokenizer.py bench
@Suite(.serialized, .enabled(if: ProcessInfo.processInfo.environment["MMENCODE_BENCH"] != nil))
struct TokenizerThroughputTests {
  let tokenizer: CLIPTokenizer
  let bench: TokenizerFixtures.Corpus.Bench
  let contextLength: Int

  init() throws {
    tokenizer = try TokenizerFixtures.tokenizer()
    let corpus = try TokenizerFixtures.corpus()
    bench = corpus.bench
    contextLength = corpus.contextLengths[0]
    _ = tokenizer.encode(bench.text)  // warm the word cache, as the Python side does
  }

  /// Best wall time of `bench.runs` runs of `body`, in seconds.
  private func bestTime(_ body: () throws -> Void) rethrows -> Double {
    var best = Double.infinity
    for _ in 0..<bench.runs {
      let start = DispatchTime.now().uptimeNanoseconds
      try body()
      best = min(best, Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
    }
    return best
  }

  @Test func longEnglishText() {
    let text = Array(repeating: bench.text, count: bench.repeats).joined(separator: " ")
    var count = 0
    let seconds = bestTime { count = tokenizer.encode(text).count }
    print(
      "Swift CLIPTokenizer, long text: \(count) tokens in \(String(format: "%.3f", seconds)) s"
        + " = \(Int(Double(count) / seconds)) tokens/s")
    #expect(count > 0)
  }

  @Test func captions() throws {
    let seconds = try bestTime {
      for caption in bench.captions {
        _ = try tokenizer.tokenize(caption, contextLength: contextLength, truncation: .truncate)
      }
    }
    print(
      "Swift CLIPTokenizer, captions: \(bench.captions.count) in \(String(format: "%.3f", seconds))"
        + " s = \(Int(Double(bench.captions.count) / seconds)) captions/s")
  }
}
