import CLIP
import Core
import Foundation
import Media

/// Decodes, preprocesses and encodes chosen frames of one video, with decoding and preprocessing
/// on a producer thread that feeds batches of pixels through a bounded queue to the encoder on
/// the calling thread. So decoding overlaps encoding, and at most `queueDepth` + 2 batches of
/// pixels exist at once however long the video is.
struct FramePipeline {
  let encoder: CLIPVisionEncoder
  let preprocessor: ImagePreprocessor
  let batchSize: Int
  let queueDepth: Int
  let tokens: Bool

  /// Embeddings of the frames at `positions` (strictly increasing, so each frame is decoded at
  /// most once and decoding only moves forward between keyframes).
  ///
  /// - Parameter encoded: called after each batch with the number of frames encoded so far.
  /// - Returns: `embeddings` `[K, P]` and, when `tokens` is set, `tokens` `[K, 1 + patches, W]`,
  ///   rows in the order of `positions`; and the seconds spent in the vision tower.
  func run(
    reader: VideoReader, positions: [Int], encoded: (Int) -> Void
  ) throws -> (embeddings: Tensor, tokens: Tensor?, encoderSeconds: Double) {
    let projection = encoder.config.projectionDim
    guard !positions.isEmpty else {
      let tokenShape = [0, encoder.config.positionCount, encoder.config.hiddenSize]
      return (Tensor(shape: [0, projection], scalars: []), tokens ? Tensor(shape: tokenShape, scalars: []) : nil, 0)
    }
    let queue = BoundedQueue<Batch>(capacity: queueDepth)
    let producer = Producer(reader: reader, preprocessor: preprocessor, positions: positions, batchSize: batchSize)
    let finished = DispatchSemaphore(value: 0)
    let thread = Thread {
      producer.run(into: queue)
      finished.signal()
    }
    // Decoders and the resampler keep sizeable frames on the stack in some codecs.
    thread.stackSize = producerStackSize
    thread.start()
    // The producer must be done with the reader before this returns, whatever happened.
    defer {
      queue.cancel()
      finished.wait()
    }

    var embeddings: [Float] = []
    embeddings.reserveCapacity(positions.count * projection)
    var tokenRows: [Float] = []
    var done = 0
    var encoding = Duration.zero
    while true {
      switch queue.take() {
      case .pixels(let pixels):
        let started = ContinuousClock.now
        let output = try encoder.encode(pixels: pixels)
        encoding += ContinuousClock.now - started
        // VideoEmbedder only builds pipelines for towers with a projection.
        embeddings += output.embeds!.scalars
        if tokens { tokenRows += output.lastHiddenState.scalars }
        done += pixels.shape[0]
        encoded(done)
      case .failed(let error):
        throw error
      case .finished:
        precondition(done == positions.count, "the producer ended after \(done) of \(positions.count) frames")
        let tokenShape = [done, encoder.config.positionCount, encoder.config.hiddenSize]
        return (
          Tensor(shape: [done, projection], scalars: embeddings),
          tokens ? Tensor(shape: tokenShape, scalars: tokenRows) : nil, encoding.seconds
        )
      }
    }
  }
}

/// Stack of the producer thread: FFmpeg's own threads get 8 MiB on Linux, so this one does too.
private let producerStackSize = 8 << 20

/// What the producer hands the encoder.
private enum Batch: Sendable {
  /// `[B, 3, S, S]` preprocessed frames.
  case pixels(Tensor)
  case failed(any Error)
  case finished
}

/// The decoding side. It owns the reader while it runs: `FramePipeline.run` waits for it to end
/// before anyone else touches the reader again.
private final class Producer: @unchecked Sendable {
  private let reader: VideoReader
  private let preprocessor: ImagePreprocessor
  private let positions: [Int]
  private let batchSize: Int

  init(reader: VideoReader, preprocessor: ImagePreprocessor, positions: [Int], batchSize: Int) {
    self.reader = reader
    self.preprocessor = preprocessor
    self.positions = positions
    self.batchSize = batchSize
  }

  func run(into queue: BoundedQueue<Batch>) {
    do {
      for start in stride(from: 0, to: positions.count, by: batchSize) {
        let chunk = positions[start..<min(start + batchSize, positions.count)]
        // One frame's RGB at a time: only its preprocessed pixels wait for the batch to fill.
        var frames: [Tensor] = []
        frames.reserveCapacity(chunk.count)
        for position in chunk {
          frames.append(try preprocessor.preprocess(try reader.frame(at: position).image))
        }
        guard queue.put(.pixels(Tensor.stack(frames))) else { return }
      }
      _ = queue.put(.finished)
    } catch {
      _ = queue.put(.failed(error))
    }
  }
}

/// A blocking first-in first-out queue holding at most `capacity` elements, between one
/// producer thread and one consumer thread.
final class BoundedQueue<Element: Sendable>: @unchecked Sendable {
  private let condition = NSCondition()
  private var elements: [Element] = []
  private let capacity: Int
  private var cancelled = false

  init(capacity: Int) {
    precondition(capacity >= 1, "queue capacity \(capacity)")
    self.capacity = capacity
  }

  /// Appends `element`, waiting while the queue is full; false (and nothing appended) once the
  /// consumer has cancelled.
  func put(_ element: Element) -> Bool {
    condition.lock()
    defer { condition.unlock() }
    while elements.count >= capacity && !cancelled { condition.wait() }
    guard !cancelled else { return false }
    elements.append(element)
    condition.broadcast()
    return true
  }

  /// Removes the oldest element, waiting while the queue is empty.
  func take() -> Element {
    condition.lock()
    defer { condition.unlock() }
    while elements.isEmpty { condition.wait() }
    let element = elements.removeFirst()
    condition.broadcast()
    return element
  }

  /// Tells the producer to stop: pending and later `put`s return false.
  func cancel() {
    condition.lock()
    cancelled = true
    elements.removeAll()
    condition.broadcast()
    condition.unlock()
  }
}

extension Duration {
  /// The duration in seconds.
  var seconds: Double { Double(components.seconds) + Double(components.attoseconds) * 1e-18 }
}
