import ArgumentParser
import CLIP
import Core
import Foundation

/// `mmencode text "TEXT"... | --file F -m MODEL -o OUT`: CLIP text embeddings, for texts up to the
/// model's context (`clip`), up to Long-CLIP's 248 tokens (`long-clip`), or of any length as
/// LongAlign segments (`segments`).
struct TextCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "text",
    abstract: "Encode texts with a CLIP text tower: whole, Long-CLIP style, or as LongAlign segments.",
    discussion: """
      The model is a CLIPModel, CLIPTextModelWithProjection or CLIPTextModel checkpoint, or a \
      diffusers pipeline (a directory with model_index.json, such as Stable Diffusion's), whose \
      text_encoder/ and tokenizer/ are used. A CLIPTextModel (Stable Diffusion's text encoder) \
      has no projection: its outputs have no text_embeds, and the metadata says \
      text.projection false.

      Modes:
        clip       Each text within the model's context. Writes text_embeds [N, P], pooler_output \
      [N, W], input_ids [N, T] (int64) and, with --hidden, last_hidden_state [N, T, W]. A text \
      longer than the context is an error unless --truncate is given. The tower runs without an \
      attention mask (as diffusers and Long-CLIP run it); --mask-padding passes the tokenizer's \
      mask as transformers' model(**inputs) does. Only the rows after end-of-text differ.
        long-clip  The same, on a text tower with more positions than CLIP's 77: a converted \
      Long-CLIP checkpoint (see `mmencode convert`) or any CLIP checkpoint with --stretch.
        segments   LongAlign: the text is split into segments, each encoded within the window; \
      their start-of-text and content rows are concatenated and cut or padded to --rows rows. \
      Writes last_hidden_state [N, R, W], segment_ids [N, R] (int64, -1 on pad rows) and \
      text_embeds [N, P] (the mean of the segments' normalized embeddings, when the model has a \
      projection; LongSD's CLIPTextModel has none and needs only the rows); the segment texts go \
      in the metadata. --segment-mode faithful reproduces the published splitter (the one the \
      LongSD weights were trained with); clean splits sentences properly and never truncates.
      """)

  enum Mode: String, CaseIterable, ExpressibleByArgument {
    case clip
    case longClip = "long-clip"
    case segments
  }

  enum Pad: String, CaseIterable, ExpressibleByArgument {
    /// End-of-text, as transformers' CLIP tokenizers pad.
    case eot
    /// Id 0, as OpenAI's and Long-CLIP's reference tokenizers pad.
    case zero
  }

  @Argument(help: "Texts to encode (or use --file).")
  var texts: [String] = []

  @Option(help: ArgumentHelp("A UTF-8 text file with one text per line.", valueName: "file"))
  var file: String?

  @OptionGroup var model: ModelOptions
  @OptionGroup var output: OutputOptions
  @OptionGroup var runtime: RuntimeOptions

  @Option(help: "clip, long-clip or segments.")
  var mode: Mode = .clip

  @Option(help: "Segments mode: faithful (default) or clean splitting.")
  var segmentMode: SegmentSplitting?

  @Option(help: "Segments mode: rows of every output (default \(LongAlignOptions.defaultRows)).")
  var rows: Int?

  @Flag(help: "Stretch the model's position table (Long-CLIP's knowledge-preserved stretching, 77 -> 248 positions); the context becomes the stretched length.")
  var stretch = false

  @Option(help: "With --stretch: rows kept unchanged (default \(PositionStretch.defaultKeptRows)).")
  var stretchKeep: Int?

  @Option(help: "With --stretch: rows made per later row (default \(PositionStretch.defaultRatio)).")
  var stretchRatio: Int?

  @Flag(help: "Keep the first tokens of a text longer than the context instead of failing.")
  var truncate = false

  @Option(help: "What fills positions after end-of-text: eot (default) or zero.")
  var pad: Pad?

  @Flag(help: "Hide the padding from the tower with the tokenizer's attention mask.")
  var maskPadding = false

  @Flag(help: "L2-normalize text_embeds (an error for a model without a projection).")
  var normalize = false

  @Flag(help: "Also write last_hidden_state (clip and long-clip modes; segments mode always does).")
  var hidden = false

  @Option(help: "Texts (or segments) per encoder call.")
  var batchSize = LongAlignOptions.defaultBatchSize

  func validate() throws {
    if texts.isEmpty == (file == nil) {
      throw ValidationError("give the texts as arguments or with --file, not both")
    }
    if output.output == nil { throw ValidationError("missing -o/--output") }
    if batchSize < 1 { throw ValidationError("--batch-size must be at least 1") }
    if let rows, rows < 1 { throw ValidationError("--rows must be at least 1") }
    if !stretch, stretchKeep != nil || stretchRatio != nil {
      throw ValidationError("--stretch-keep and --stretch-ratio need --stretch")
    }
    if mode == .segments {
      if truncate || pad != nil || maskPadding || hidden {
        throw ValidationError(
          "--truncate, --pad, --mask-padding and --hidden apply to the clip and long-clip modes "
            + "(segments mode never truncates a text and always writes its rows)")
      }
    } else if segmentMode != nil || rows != nil {
      throw ValidationError("--segment-mode and --rows apply to --mode segments")
    }
  }

  func run() throws {
    let display = runtime.start()
    let files = CLIPTextModelFiles(modelDirectory: try model.directory())
    let inputs = try readInputs()
    var encoder = try CLIPTextEncoder.load(directory: files.encoderDirectory)
    if normalize, !encoder.hasProjection {
      throw EncodeCommandError.normalizeWithoutProjection(
        model: model.model, architecture: "CLIPTextModel", embedsName: Self.embedsName)
    }
    let tokenizer = try CLIPTokenizer(directory: files.tokenizerDirectory)
    var metadata = try standardMetadata(
      modelDirectory: files.encoderDirectory, modelReference: model.model)
    metadata["text.tokenizer_path"] = files.tokenizerDirectory
    if stretch {
      let stretch = PositionStretch(
        keptRows: stretchKeep ?? PositionStretch.defaultKeptRows,
        ratio: stretchRatio ?? PositionStretch.defaultRatio)
      encoder = try encoder.stretched(stretch)
      metadata["text.stretch.kept_rows"] = String(stretch.keptRows)
      metadata["text.stretch.ratio"] = String(stretch.ratio)
    }
    if mode == .longClip, !LongCLIP.hasLongContext(encoder.config) {
      throw TextCommandError.notLongCLIP(
        model: model.model, positions: encoder.config.maxPositionEmbeddings)
    }
    metadata["text.mode"] = mode.rawValue
    metadata["text.count"] = String(inputs.count)
    metadata["text.context_length"] = String(encoder.config.maxPositionEmbeddings)
    metadata["text.normalized"] = String(normalize)
    metadata["text.projection"] = String(encoder.hasProjection)

    let item = file ?? "texts"
    var arrays: [NamedArray]
    var summary: [String: Any] = ["texts": inputs.count]
    switch mode {
    case .clip, .longClip:
      arrays = try encodeWhole(inputs, encoder, tokenizer, display, item: item, metadata: &metadata)
    case .segments:
      arrays = try encodeSegments(inputs, encoder, tokenizer, display, item: item, metadata: &metadata)
      summary["segments"] = metadata["text.segment_count"].flatMap(Int.init)
    }
    if normalize, let index = arrays.firstIndex(where: { $0.name == Self.embedsName }) {
      let embeds = arrays[index].tensor!
      arrays[index] = NamedArray(
        Self.embedsName, shape: embeds.shape, values: .float32(l2NormalizedRows(embeds.scalars, width: embeds.shape[1])))
    }
    try writeOutput(arrays, metadata: metadata, to: output.output!, format: output.format)
    display.finish(item: item, summary: summary)
  }

  // MARK: modes

  private func encodeWhole(
    _ inputs: [Input], _ encoder: CLIPTextEncoder, _ tokenizer: CLIPTokenizer,
    _ display: ProgressDisplay, item: String, metadata: inout [String: String]
  ) throws -> [NamedArray] {
    let context = encoder.config.maxPositionEmbeddings
    let padding: CLIPTokenizer.Padding = (pad ?? .eot) == .eot ? .endOfText : .zero
    var tokenized: [TokenizedText] = []
    var failures: [String] = []
    for input in inputs {
      do {
        tokenized.append(
          try tokenizer.tokenize(
            input.text, contextLength: context, truncation: truncate ? .truncate : .error,
            padding: padding))
      } catch let error as TokenizerError {
        guard case .textTooLong = error else { throw error }
        failures.append("\(input.label): \(error.localizedDescription) (--truncate keeps the first tokens)")
      }
    }
    if !failures.isEmpty {
      display.interrupt()
      failures.forEach(printError)
      throw ExitCode.failure
    }
    let result = try encoder.encode(
      texts: tokenized, maskPadding: maskPadding, keepHiddenStates: hidden, batchSize: batchSize,
      progress: display.handler, item: item)
    metadata["text.padding"] = (pad ?? .eot).rawValue
    metadata["text.attention_mask"] = maskPadding ? "padding" : "none"
    metadata["text.truncation"] = truncate ? "truncate" : "error"
    metadata["text.dropped_tokens"] = try json(tokenized.map(\.droppedCount))
    let ids = tokenized.flatMap { $0.ids.map(Int64.init) }
    var arrays = result.embeds.map { [NamedArray(Self.embedsName, $0)] } ?? []
    arrays += [
      NamedArray("pooler_output", result.pooled),
      NamedArray("input_ids", shape: [tokenized.count, context], values: .int64(ids)),
    ]
    if let states = result.lastHiddenState { arrays.append(NamedArray("last_hidden_state", states)) }
    return arrays
  }

  private func encodeSegments(
    _ inputs: [Input], _ encoder: CLIPTextEncoder, _ tokenizer: CLIPTokenizer,
    _ display: ProgressDisplay, item: String, metadata: inout [String: String]
  ) throws -> [NamedArray] {
    let options = LongAlignOptions(
      splitting: segmentMode ?? .faithful, rows: rows ?? LongAlignOptions.defaultRows,
      batchSize: batchSize)
    let longAlign = try LongAlignEncoder(encoder: encoder, tokenizer: tokenizer, options: options)
    let outputs = try longAlign.encode(inputs.map(\.text), progress: display.handler, item: item)
    metadata["text.segment_mode"] = options.splitting.rawValue
    metadata["text.rows"] = String(options.rows)
    metadata["text.pad_average_rows"] = String(options.padAverageRows)
    metadata["text.segments"] = try json(outputs.map { $0.segments.map(\.text) })
    metadata["text.segment_dropped_tokens"] = try json(outputs.map { $0.segments.map(\.droppedCount) })
    metadata["text.row_counts"] = try json(outputs.map(\.rowCount))
    metadata["text.segment_count"] = String(outputs.reduce(0) { $0 + $1.segments.count })
    let owners = outputs.flatMap { $0.segmentIDs.map(Int64.init) }
    var arrays = [
      NamedArray("last_hidden_state", Tensor.stack(outputs.map(\.hiddenStates))),
      NamedArray("segment_ids", shape: [outputs.count, options.rows], values: .int64(owners)),
    ]
    // Without a projection there are no per-segment embeddings to average (text.projection).
    if encoder.hasProjection {
      arrays.append(NamedArray(Self.embedsName, Tensor.stack(outputs.map { $0.embeds! })))
    }
    return arrays
  }

  /// The name of the projected embeddings' array.
  static let embedsName = "text_embeds"

  // MARK: inputs

  private struct Input {
    var text: String
    /// How error messages name the text: "text 2", or "FILE:7".
    var label: String
  }

  /// The argument texts, or the lines of --file (without a final newline's empty line; "\r\n"
  /// line ends are accepted).
  private func readInputs() throws -> [Input] {
    guard let file else {
      return texts.enumerated().map { Input(text: $1, label: "text \($0 + 1)") }
    }
    let data: Data
    do { data = try Data(contentsOf: URL(fileURLWithPath: file)) } catch {
      throw TextCommandError.unreadable(path: file, reason: error.localizedDescription)
    }
    guard let contents = String(data: data, encoding: .utf8) else {
      throw TextCommandError.unreadable(path: file, reason: "not UTF-8 text")
    }
    // "\r\n" is one Character, so it needs naming besides "\n".
    var lines = contents.split(omittingEmptySubsequences: false) { $0 == "\n" || $0 == "\r\n" }
      .map(String.init)
    if lines.last == "" { lines.removeLast() }  // the final line's newline
    guard !lines.isEmpty else { throw TextCommandError.unreadable(path: file, reason: "holds no text") }
    return lines.enumerated().map { Input(text: $1, label: "\(file):\($0 + 1)") }
  }
}

extension SegmentSplitting: ExpressibleByArgument {}

/// Why `mmencode text` cannot encode its inputs with the model given.
enum TextCommandError: Error, LocalizedError {
  case notLongCLIP(model: String, positions: Int)
  case unreadable(path: String, reason: String)

  var errorDescription: String? {
    switch self {
    case .notLongCLIP(let model, let positions):
      "\(model): its text tower has \(positions) positions, not more than CLIP's "
        + "\(LongCLIP.clipContextLength), so --mode long-clip has nothing to add; either add "
        + "--stretch to stretch this table without training, or convert a Long-CLIP checkpoint "
        + "with `mmencode convert longclip-L.pt -o DIR` and pass -m DIR"
    case .unreadable(let path, let reason): "\(path): cannot read: \(reason)"
    }
  }
}

private func json<T: Encodable>(_ value: T) throws -> String {
  let encoder = JSONEncoder()
  encoder.outputFormatting = [.withoutEscapingSlashes]
  return String(decoding: try encoder.encode(value), as: UTF8.self)
}
