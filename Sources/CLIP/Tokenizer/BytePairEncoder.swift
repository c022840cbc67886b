import Foundation

/// CLIP's byte-level byte-pair encoding of one word (`CLIPTokenizer.bpe` in transformers'
/// `tokenization_clip.py`).
///
/// A word's UTF-8 bytes become symbols, the last one marked as a word end ("</w>"). Then the
/// adjacent pair with the lowest merge rank is merged at every occurrence, left to right, until
/// no adjacent pair has a rank. Symbols are interned as integers, so a merge is a table lookup
/// instead of string concatenation; a symbol missing from the vocabulary becomes the unknown id,
/// as the reference's `encoder.get(token, unk)` does.
final class BytePairEncoder: Sendable {
  static let endOfWordMarker = "</w>"

  private struct Merge: Sendable {
    var rank: Int32
    var symbol: Int32
  }

  /// Symbol of each byte, and of each byte ending a word.
  private let byteSymbols: [Int32]
  private let finalByteSymbols: [Int32]
  /// Keyed by `pairKey(left, right)`.
  private let merges: [UInt64: Merge]
  /// Vocabulary id of each symbol.
  private let vocabularyIDs: [Int]
  /// Words the reference's BPE cache starts with: its special tokens, returned unsplit.
  private let wholeWords: [[UInt8]: Int]
  private let cache = WordCache()

  /// `merges` in rank order; a repeated pair takes its last rank, as the reference's dict does.
  init(
    vocabulary: [String: Int], merges mergeList: [(String, String)], unknownID: Int,
    wholeWords: [String: Int]
  ) {
    // Keyed by String, whose equality is canonical equivalence; for symbols over the byte
    // alphabet (no combining marks) that is plain scalar equality, as in Python.
    var symbols: [String: Int32] = [:]
    var vocabularyIDs: [Int] = []
    func intern(_ token: String) -> Int32 {
      if let symbol = symbols[token] { return symbol }
      let symbol = Int32(vocabularyIDs.count)
      symbols[token] = symbol
      vocabularyIDs.append(vocabulary[token] ?? unknownID)
      return symbol
    }
    let byteCharacters = Self.byteCharacters()
    byteSymbols = byteCharacters.map { intern(String($0)) }
    finalByteSymbols = byteCharacters.map { intern(String($0) + Self.endOfWordMarker) }
    var merges: [UInt64: Merge] = [:]
    for (rank, (left, right)) in mergeList.enumerated() {
      let key = Self.pairKey(intern(left), intern(right))
      merges[key] = Merge(rank: Int32(rank), symbol: intern(left + right))
    }
    self.merges = merges
    self.vocabularyIDs = vocabularyIDs
    self.wholeWords = Dictionary(
      uniqueKeysWithValues: wholeWords.map { (Array($0.key.utf8), $0.value) })
  }

  /// GPT-2's reversible byte-to-character table (`bytes_to_unicode`): printable Latin-1 bytes
  /// stand for themselves, the others for the characters from U+0100 on, in byte order.
  static func byteCharacters() -> [Unicode.Scalar] {
    let printable: [ClosedRange<UInt32>] = [0x21...0x7E, 0xA1...0xAC, 0xAE...0xFF]
    var nextSubstitute: UInt32 = 0x100
    return (0...UInt32(UInt8.max)).map { byte in
      if printable.contains(where: { $0.contains(byte) }) { return Unicode.Scalar(byte)! }
      defer { nextSubstitute += 1 }
      return Unicode.Scalar(nextSubstitute)!
    }
  }

  private static func pairKey(_ left: Int32, _ right: Int32) -> UInt64 {
    UInt64(UInt32(bitPattern: left)) << 32 | UInt64(UInt32(bitPattern: right))
  }

  /// Appends the vocabulary ids of the word with UTF-8 bytes `word` (not empty) to `ids`.
  func encode(_ word: [UInt8], into ids: inout [Int]) {
    if let id = wholeWords[word] {
      ids.append(id)
    } else if let cached = cache[word] {
      ids += cached
    } else {
      let encoded = merged(word).map { vocabularyIDs[Int($0)] }
      cache[word] = encoded
      ids += encoded
    }
  }

  private func merged(_ word: [UInt8]) -> [Int32] {
    var symbols = word.dropLast().map { byteSymbols[Int($0)] } + [finalByteSymbols[Int(word.last!)]]
    var next: [Int32] = []
    while symbols.count > 1 {
      var best: Merge?
      var bestPair = (left: Int32(0), right: Int32(0))
      for index in 1..<symbols.count {
        let pair = (left: symbols[index - 1], right: symbols[index])
        if let merge = merges[Self.pairKey(pair.left, pair.right)], merge.rank < best?.rank ?? .max
        {
          best = merge
          bestPair = pair
        }
      }
      guard let best else { break }
      next.removeAll(keepingCapacity: true)
      var index = 0
      while index < symbols.count {
        if index + 1 < symbols.count && symbols[index] == bestPair.left
          && symbols[index + 1] == bestPair.right
        {
          next.append(best.symbol)
          index += 2
        } else {
          next.append(symbols[index])
          index += 1
        }
      }
      swap(&symbols, &next)
    }
    return symbols
  }
}

/// Encoded words, shared by every caller of one tokenizer. The reference's cache grows without
/// bound; this one starts over when full, which changes only speed.
private final class WordCache: @unchecked Sendable {
  /// Enough for the distinct words of a long English text.
  private static let capacity = 1 << 17
  private let lock = NSLock()
  private var entries: [[UInt8]: [Int]] = [:]

  subscript(word: [UInt8]) -> [Int]? {
    get { lock.withLock { entries[word] } }
    set {
      lock.withLock {
        if entries.count >= Self.capacity { entries.removeAll(keepingCapacity: true) }
        entries[word] = newValue
      }
    }
  }
}
