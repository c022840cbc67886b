import Foundation

/// Writes `mmencode: <line>` to stderr, the form of every message the commands print there.
func printError(_ line: String) {
  FileHandle.standardError.write(Data("mmencode: \(line)\n".utf8))
}

/// Prints one line for an input that failed: `mmencode: <file>: <problem>`, naming the file when
/// the error does not already (pixel and token errors are about content, not files).
func reportFailure(of file: String, _ error: Error) {
  let text = ((error as? LocalizedError)?.errorDescription ?? String(describing: error))
    .replacingOccurrences(of: "\n", with: " ")
  printError(text.contains(file) ? text : "\(file): \(text)")
}
