/// A place in a scenario file: shown as `file:line:column` in front of every error about it.
public struct SourcePosition: Sendable, Hashable, CustomStringConvertible {
    public var file: String
    public var line: Int
    public var column: Int

    public init(file: String, line: Int, column: Int) {
        self.file = file
        self.line = line
        self.column = column
    }

    public var description: String { "\(file):\(line):\(column)" }

    /// The position `offset` characters further along the same line.
    func advanced(by offset: Int) -> SourcePosition {
        SourcePosition(file: file, line: line, column: column + offset)
    }
}

/// A mistake in a scenario file, or a request of the scenario the target did not answer as the file says: one line,
/// with the file position or the failing request, for the user to fix. Ends the run with exit code 3.
public struct ScenarioError: Error, CustomStringConvertible, Equatable {
    public let position: SourcePosition?
    public let message: String
    /// Whether it says a target's answer does not have the shape the file reads: a capture that found nothing, a
    /// path that does not fit, a body that is not JSON.
    public let isShapeMismatch: Bool

    public init(_ message: String, at position: SourcePosition? = nil) {
        self.init(message, at: position, isShapeMismatch: false)
    }

    init(_ message: String, at position: SourcePosition?, isShapeMismatch: Bool) {
        self.position = position
        self.message = message
        self.isShapeMismatch = isShapeMismatch
    }

    /// An answer that does not have the shape the file reads.
    static func shape(_ message: String, at position: SourcePosition?) -> ScenarioError {
        ScenarioError(message, at: position, isShapeMismatch: true)
    }

    public var description: String {
        guard let position else { return message }
        return "\(position): \(message)"
    }
}
