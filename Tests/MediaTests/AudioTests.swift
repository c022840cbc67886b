import Foundation
import Media
import Testing

/// One entry of fixtures/media/reference/audio/audio.json.
struct AudioReference: Decodable {
  let samples: Int
  let command: String
}

private let audioReferences = (try? Fixtures.manifest("audio/audio.json", as: [String: AudioReference].self)) ?? [:]

private func referenceSamples(_ name: String) throws -> [Float] {
  let data = try Data(contentsOf: URL(fileURLWithPath: Fixtures.reference("audio/\(name).f32le")))
  return data.withUnsafeBytes { raw in
    (0..<data.count / 4).map { Float(bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: $0 * 4, as: UInt32.self))) }
  }
}

/// 16 kHz mono float32 equal, bit for bit, to `ffmpeg -i FILE -vn -ac 1 -ar 16000 -f f32le`.
@Test(arguments: audioReferences.keys.sorted())
func audioIsBitIdenticalToTheFFmpegCLI(name: String) throws {
  let entry = try #require(audioReferences[name])
  let expected = try referenceSamples(name)
  let reader = try AudioReader(path: Fixtures.media(name))
  // Odd chunk size, so chunk boundaries fall inside decoded frames.
  var samples: [Float] = []
  while let chunk = try reader.read(maxSamples: 1000 + 7) {
    #expect(chunk.count <= 1007)
    samples += chunk
  }
  #expect(samples.count == expected.count, "\(entry.command)")
  let common = min(samples.count, expected.count)
  let worst = (0..<common).map { abs(samples[$0] - expected[$0]) }.max() ?? 0
  #expect(worst == 0, "max |difference| \(worst); \(entry.command)")
  #expect(try reader.read(maxSamples: 10) == nil)
}
