/// How far a long job has come, as library code reports it to whoever displays it.
///
/// Library code never prints; it calls a ``ProgressHandler`` with these snapshots and the CLI
/// renders them (a terminal bar, JSON lines, or nothing).
public struct ProgressReport: Sendable, Equatable {
  /// What is being processed (usually an input file's path).
  public var item: String
  /// Units finished so far.
  public var completed: Int
  /// Units expected in all, when known.
  public var total: Int?
  /// What a unit is, plural ("frames", "windows", "segments").
  public var unit: String

  public init(item: String, completed: Int, total: Int?, unit: String) {
    self.item = item
    self.completed = completed
    self.total = total
    self.unit = unit
  }
}

/// Receives progress snapshots; called from whichever thread does the work.
public typealias ProgressHandler = @Sendable (ProgressReport) -> Void
